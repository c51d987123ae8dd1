// Lists serial ports with their USB identity. serialport's list() spawns `udevadm`, which a container
// without udev lacks; then sysfs (/sys/class/tty/*/device) and /dev/serial/by-id give the same facts.
// Never throws: a listing that fails yields fewer ports.
import { readdir, readFile, realpath } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export interface SerialPortInfo {
  path: string;
  vid?: string;
  pid?: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  /** Names of the /dev/serial/by-id links that point at this port. */
  byId: string[];
}

export interface PortInfoLike {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
}

export interface ListOptions {
  /** serialport's binding list(); omitted or failing -> sysfs. */
  bindingList?: () => Promise<PortInfoLike[]>;
  sysRoot?: string;
  devRoot?: string;
}

export async function listSerialPorts(opts: ListOptions = {}): Promise<SerialPortInfo[]> {
  const devRoot = opts.devRoot ?? '/dev';
  let ports: SerialPortInfo[] | undefined;
  if (opts.bindingList) {
    try {
      ports = (await opts.bindingList()).map(fromBinding);
    } catch {
      ports = undefined; // udevadm missing or failing: use sysfs
    }
  }
  if (ports?.some((p) => p.vid === undefined)) {
    // udevadm without a running udev (a container) lists the ports but not their USB ids: sysfs has them.
    const fromSysfs = new Map((await listFromSysfs(opts.sysRoot ?? '/sys', devRoot)).map((p) => [p.path, p]));
    ports = ports.map((p) => (p.vid === undefined ? (fromSysfs.get(p.path) ?? p) : p));
  }
  ports ??= await listFromSysfs(opts.sysRoot ?? '/sys', devRoot);
  const links = await listByIdLinks(devRoot);
  for (const port of ports) {
    const real = await realpath(port.path).catch(() => port.path);
    port.byId = links.filter((l) => l.target === real).map((l) => l.name);
  }
  return ports;
}

function fromBinding(p: PortInfoLike): SerialPortInfo {
  const out: SerialPortInfo = { path: p.path, byId: [] };
  if (p.vendorId) out.vid = p.vendorId.toLowerCase().padStart(4, '0');
  if (p.productId) out.pid = p.productId.toLowerCase().padStart(4, '0');
  if (p.serialNumber) out.serialNumber = p.serialNumber;
  if (p.manufacturer) out.manufacturer = p.manufacturer;
  return out;
}

async function listFromSysfs(sysRoot: string, devRoot: string): Promise<SerialPortInfo[]> {
  const classDir = join(sysRoot, 'class', 'tty');
  const names = await readdir(classDir).catch(() => [] as string[]);
  const ports: SerialPortInfo[] = [];
  for (const name of names.sort()) {
    const deviceDir = await realpath(join(classDir, name, 'device')).catch(() => undefined);
    if (!deviceDir) continue; // virtual terminal (tty0, console, ptmx...)
    const usbDir = await findUsbDevice(deviceDir, resolve(sysRoot));
    // The kernel creates legacy 8250 ttyS ports whether or not hardware is behind them; without a USB parent
    // they are noise here (a real on-board UART is configured by path, not matched).
    if (!usbDir && /^ttyS\d+$/.test(name)) continue;
    const port: SerialPortInfo = { path: join(devRoot, name), byId: [] };
    if (usbDir) {
      const read = (f: string) =>
        readFile(join(usbDir, f), 'utf8').then(
          (s) => s.trim(),
          () => undefined,
        );
      const [vid, pid, serial, manufacturer, product] = await Promise.all(
        ['idVendor', 'idProduct', 'serial', 'manufacturer', 'product'].map(read),
      );
      if (vid) port.vid = vid.toLowerCase();
      if (pid) port.pid = pid.toLowerCase();
      if (serial) port.serialNumber = serial;
      if (manufacturer) port.manufacturer = manufacturer;
      if (product) port.product = product;
    }
    ports.push(port);
  }
  return ports;
}

/** Walks up from the tty's device directory to the USB device (the directory holding idVendor). */
async function findUsbDevice(start: string, stop: string): Promise<string | undefined> {
  let dir = start;
  for (let depth = 0; depth < 8 && dir.startsWith(stop) && dir !== stop; depth++) {
    const hasVendor = await readFile(join(dir, 'idVendor'), 'utf8').then(
      () => true,
      () => false,
    );
    if (hasVendor) return dir;
    dir = dirname(dir);
  }
  return undefined;
}

export async function listByIdLinks(devRoot = '/dev'): Promise<{ name: string; target: string }[]> {
  const dir = join(devRoot, 'serial', 'by-id');
  const names = await readdir(dir).catch(() => [] as string[]);
  const links: { name: string; target: string }[] = [];
  for (const name of names) {
    const target = await realpath(join(dir, name)).catch(() => undefined);
    if (target) links.push({ name, target });
  }
  return links;
}
