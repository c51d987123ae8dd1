// The serial adapter: one SerialDeviceLink per configured device, a scan loop that announces unknown USB
// ports during permit_join, and routing of /set, /get and bridge/request/device/{smp,ota_update,console}.
import { realpath } from 'node:fs/promises';
import type {
  Adapter,
  AdapterContext,
  AdapterState,
  AdapterStatus,
  CommandResult,
  DeviceCommand,
} from '../../gateway/adapter.js';
import { deviceBaseShape } from '../../gateway/config/device-base.js';
import { isOtaRequestName, runOta } from '../common/smp/ota-request.js';
import { runSmpRequest } from '../common/smp/smp-request.js';
import { type SerialAdapterConfig, type SerialDevice, serialDeviceSchema } from './config.js';
import { type SerialBinding, SerialDeviceLink } from './device-link.js';
import { type ListOptions, listSerialPorts, type SerialPortInfo } from './port-list.js';
import { matchPort, suggestedConfig } from './port-match.js';

const deviceSchema = serialDeviceSchema.extend(deviceBaseShape);

/**
 * Keys of the serial entry that an open link takes without closing its port (SerialDeviceLink.update): `log` and
 * `shell_echo`, read per line. Every other serial key (path, match, baud and line settings, framing, smp: the SMP
 * client holds its timeout, retries and version) reopens the port, which ends a firmware upload in progress. The
 * core's keys (name, description, availability_timeout, disabled...) never do: disabling is a removal to this
 * adapter, and a key the core adds later is the core's.
 */
const LIVE_KEYS: ReadonlySet<string> = new Set(['log', 'shell_echo']);
const SERIAL_KEYS: readonly string[] = Object.keys(serialDeviceSchema.shape);

/** The part of an entry whose change needs a new link (a reopened port). */
function reopenKeys(device: SerialDevice): string {
  const entry = device as Record<string, unknown>;
  return JSON.stringify(SERIAL_KEYS.filter((key) => !LIVE_KEYS.has(key)).map((key) => [key, entry[key]]));
}

export interface SerialAdapterDeps {
  /** Defaults to @serialport/bindings-cpp, loaded on start. */
  binding?: SerialBinding;
  /**
   * Read ports on the event loop (tty-reader.ts) rather than through the binding's reader. Defaults to true with
   * the real binding on Linux and is always off with an injected binding (binding-mock has no descriptor).
   */
  ttyReader?: boolean;
  sysRoot?: string;
  devRoot?: string;
}

export class SerialAdapter implements Adapter {
  readonly kind = 'serial';
  readonly #links = new Map<string, SerialDeviceLink>();
  #binding: SerialBinding | undefined;
  #state: AdapterState = 'stopped';
  #reason: string | undefined;
  #scanTimer: NodeJS.Timeout | undefined;
  #scanning = false;
  /** From stop() on: a start() or reload still running opens no port (nothing would close it). */
  #stopped = false;

  constructor(
    private readonly config: SerialAdapterConfig,
    private readonly ctx: AdapterContext,
    private readonly deps: SerialAdapterDeps = {},
  ) {}

  async start(): Promise<void> {
    if (!this.config.enabled) {
      this.#state = 'unavailable';
      this.#reason = 'disabled in config (adapters.serial.enabled: false)';
      return;
    }
    this.#state = 'starting';
    this.#stopped = false;
    try {
      this.#binding = this.deps.binding ?? (await import('@serialport/bindings-cpp')).autoDetect();
    } catch (err) {
      this.#state = 'failed';
      this.#reason = `serialport native binding unavailable: ${err instanceof Error ? err.message : String(err)}`;
      this.ctx.logger.error({ err: this.#reason }, 'serial adapter cannot start');
      return;
    }
    await this.#syncLinks();
    if (this.#stopped) return;
    this.#scanTimer = setInterval(() => void this.#announceUnknown(), this.config.scan_interval_ms);
    this.#state = 'running';
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#scanTimer);
    this.#scanTimer = undefined;
    await Promise.all(
      [...this.#links.values()].map((l) => l.stop('serial adapter stopping (gateway stop or restart)')),
    );
    this.#links.clear();
    if (this.#state !== 'failed') this.#state = 'stopped';
  }

  status(): AdapterStatus {
    const status: AdapterStatus = {
      state: this.#state,
      details: { ports_open: this.#portsOpen(), devices: [...this.#links.values()].map((l) => l.status()) },
    };
    if (this.#reason) status.reason = this.#reason;
    return status;
  }

  /** Configured devices whose port is open now (a figure in /metrics; the list beside it is per device). */
  #portsOpen(): number {
    let open = 0;
    for (const link of this.#links.values()) if (link.isOpen) open++;
    return open;
  }

  async command(deviceId: string, cmd: DeviceCommand): Promise<CommandResult> {
    const link = this.#link(deviceId);
    // /set sends the payload as one NDJSON line; /get asks with {"get": payload}. Answers arrive as telemetry.
    await link.writeLine(JSON.stringify(cmd.kind === 'set' ? cmd.payload : { get: cmd.payload }));
    return {};
  }

  async request(name: string, deviceId: string, data: Record<string, unknown>): Promise<unknown> {
    const link = this.#link(deviceId);
    if (name === 'smp') return runSmpRequest(link.smp, data);
    if (isOtaRequestName(name)) {
      return runOta(name, { ctx: this.ctx, deviceId, smp: link.smp }, data);
    }
    if (name === 'console') {
      if (typeof data.line !== 'string' || data.line.length > 1024 || /[\r\n]/.test(data.line)) {
        throw new Error('expected {"line": "<one shell command line, at most 1024 characters>"}');
      }
      await link.writeLine(data.line);
      return { written: data.line };
    }
    throw new Error(`the serial adapter has no "${name}" request (known: smp, ota_update, console)`);
  }

  async devicesChanged(): Promise<void> {
    if (this.#state === 'running') await this.#syncLinks();
  }

  /** For tests and tools: resolves when the device's port is open. */
  link(deviceId: string): SerialDeviceLink | undefined {
    return this.#links.get(deviceId);
  }

  #link(deviceId: string): SerialDeviceLink {
    const link = this.#links.get(deviceId);
    if (!link) throw new Error(`device "${deviceId}" is not an active serial device`);
    return link;
  }

  #listPorts(): Promise<SerialPortInfo[]> {
    const opts: ListOptions = {};
    if (this.deps.sysRoot) opts.sysRoot = this.deps.sysRoot;
    if (this.deps.devRoot) opts.devRoot = this.deps.devRoot;
    const binding = this.#binding;
    // A test binding (binding-mock) lists its own ports; the real one spawns udevadm, so sysfs is tried on failure.
    if (binding) opts.bindingList = () => binding.list();
    return listSerialPorts(opts);
  }

  /**
   * Starts links for new devices, stops those removed, disabled or changed in a key that needs a reopened port,
   * and hands other changes (a new display name) to the running link.
   */
  async #syncLinks(): Promise<void> {
    const wanted = new Map<string, SerialDevice>();
    for (const raw of this.ctx.devices()) {
      if (raw.transport !== 'serial') continue;
      const parsed = deviceSchema.safeParse(raw);
      if (!parsed.success) {
        this.ctx.logger.error({ device: raw.id, issues: parsed.error.issues }, 'invalid serial device entry; skipped');
        continue;
      }
      const device = parsed.data;
      if (device.disabled) continue;
      if (!device.path && !device.match?.usb && !device.match?.by_id) {
        this.ctx.logger.error({ device: device.id }, 'serial device needs "path" or "match" (usb or by_id); skipped');
        continue;
      }
      wanted.set(device.id, device);
    }
    const stopping: Promise<void>[] = [];
    for (const [id, link] of this.#links) {
      const next = wanted.get(id);
      if (next && reopenKeys(next) === reopenKeys(link.device)) {
        link.update(next);
        continue;
      }
      this.#links.delete(id);
      // The core leaves disabled devices out of ctx.devices(): a removed and a disabled device look the same here.
      stopping.push(link.stop(next ? 'device entry changed by a config reload' : 'device removed or disabled'));
    }
    // Close replaced ports first: the new link may want the same (exclusively locked) port.
    await Promise.all(stopping);
    if (this.#stopped) return;
    for (const [id, device] of wanted) {
      if (this.#links.has(id)) continue;
      const link = new SerialDeviceLink(device, {
        ctx: this.ctx,
        config: this.config,
        binding: this.#binding!,
        ttyReader: this.deps.binding === undefined && (this.deps.ttyReader ?? true),
        listPorts: () => this.#listPorts(),
      });
      this.#links.set(id, link);
      link.start();
    }
  }

  async #announceUnknown(): Promise<void> {
    if (this.#scanning || !this.ctx.permitJoin()) return;
    this.#scanning = true;
    try {
      const ports = await this.#listPorts();
      const devices = [...this.#links.values()].map((l) => l.device);
      // Configured devices, open or not (closed while locked or reopening), by match or by a path that may be a
      // link (/dev/serial/by-id/...) to the port.
      const known = new Set(devices.flatMap((d) => (d.match ? [matchPort(d.match, ports)?.path] : [])));
      for (const d of devices) if (d.path) known.add(await realpath(d.path).catch(() => d.path));
      for (const port of ports) {
        if (!port.vid || known.has(port.path) || known.has(await realpath(port.path).catch(() => port.path))) continue;
        this.ctx.deviceSeen({
          transport: 'serial',
          address: port.path,
          ...(port.product ? { name: port.product } : {}),
          ...(port.serialNumber ? { serial_number: port.serialNumber } : {}),
          aliases: port.byId.map((name) => `/dev/serial/by-id/${name}`),
          suggested_config: suggestedConfig(port),
          details: {
            vid: port.vid,
            pid: port.pid,
            serial: port.serialNumber,
            manufacturer: port.manufacturer,
            by_id: port.byId,
          },
        });
      }
    } catch (err) {
      this.ctx.logger.debug({ err }, 'serial port listing failed');
    } finally {
      this.#scanning = false;
    }
  }
}
