// Loads noble lazily. `binding: hci` requires the main entry, which opens the HCI socket at load time and throws
// (EAFNOSUPPORT, EPERM, ENODEV...) where there is no usable Bluetooth; a path loads a custom binding object under
// noble through `with-bindings`. `require` (not `import()`) so a failed load is not cached and a retry is real.
import { createRequire } from 'node:module';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Noble, NobleBinding } from './noble-types.js';

const require = createRequire(import.meta.url);

export class NobleUnavailableError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'NobleUnavailableError';
  }
}

export async function loadNoble(binding: string, baseDir = process.cwd()): Promise<Noble> {
  if (binding === 'hci') {
    try {
      return require('@abandonware/noble') as Noble;
    } catch (err) {
      throw new NobleUnavailableError(explainHciError(err), (err as NodeJS.ErrnoException).code);
    }
  }
  const path = isAbsolute(binding) ? binding : resolve(baseDir, binding);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (err) {
    throw new NobleUnavailableError(`cannot load binding module ${path}: ${(err as Error).message}`);
  }
  const instance = instantiate(mod.default ?? mod.binding ?? mod);
  if (!instance) throw new NobleUnavailableError(`${path} does not export a noble binding object (with init())`);
  const withBindings = require('@abandonware/noble/with-bindings.js') as (b: NobleBinding) => Noble;
  return withBindings(instance);
}

function isBinding(value: unknown): value is NobleBinding {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NobleBinding).init === 'function' &&
    typeof (value as NobleBinding).on === 'function'
  );
}

/** A binding object, or a factory / class producing one (so each adapter start gets a fresh binding). */
function instantiate(exported: unknown): NobleBinding | undefined {
  if (isBinding(exported)) return exported;
  if (typeof exported !== 'function') return undefined;
  const ctor = exported as new () => unknown;
  const made: unknown = typeof ctor.prototype?.init === 'function' ? new ctor() : (exported as () => unknown)();
  return isBinding(made) ? made : undefined;
}

export function explainHciError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'EAFNOSUPPORT':
      return 'EAFNOSUPPORT: this kernel has no Bluetooth socket support (AF_BLUETOOTH); run on the host network namespace of a Bluetooth-capable host';
    case 'EPERM':
    case 'EACCES':
      return `${e.code}: opening the HCI socket needs CAP_NET_RAW and CAP_NET_ADMIN`;
    case 'ENODEV':
      return 'ENODEV: no HCI controller found (check `btmgmt info`, NOBLE_HCI_DEVICE_ID)';
    case 'EBUSY':
      return 'EBUSY: the HCI controller is in use (stop bluetoothd or power the controller down for it)';
    default:
      return `cannot open the HCI socket: ${e?.message ?? String(err)}`;
  }
}

/** noble states other than poweredOn, explained. */
export function explainNobleState(state: string): string {
  switch (state) {
    case 'poweredOff':
      return 'the Bluetooth controller is powered off';
    case 'unauthorized':
      return 'not authorised to use the Bluetooth controller (CAP_NET_RAW/CAP_NET_ADMIN, or bluetoothd holds it)';
    case 'unsupported':
      return 'the Bluetooth controller does not support BLE';
    default:
      return `the Bluetooth controller is ${state}`;
  }
}
