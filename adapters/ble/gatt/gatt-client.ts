// Handle-level GATT access on one connected noble peripheral. noble keys characteristics by UUID, so of two
// characteristics with one UUID in a service only the last is reachable by UUID; this client works on handles
// (readHandle / writeHandle / handleNotify), with the handles taken from the binding's `characteristicsDiscovered`.
import type {
  NobleCharacteristic,
  NobleDescriptor,
  NoblePeripheral,
  NobleService,
  RawCharacteristic,
} from '../noble-types.js';
import { gattOperation } from './operation.js';

export const CCC_UUID = '2902';
export const CUD_UUID = '2901';

export interface GattCharacteristic {
  serviceUuid: string;
  uuid: string;
  valueHandle: number;
  /** Property bits (0x02 read, 0x04 write without response, 0x08 write, 0x10 notify, 0x20 indicate). */
  properties: number;
  /** Descriptor UUID -> handle; empty when the layout could not be established. */
  descriptors: Map<string, number>;
}

export const PROP_READ = 0x02;
export const PROP_WRITE_NO_RSP = 0x04;
export const PROP_WRITE = 0x08;
export const PROP_NOTIFY = 0x10;
export const PROP_INDICATE = 0x20;

export class GattClient {
  constructor(
    private readonly peripheral: NoblePeripheral,
    private readonly timeoutMs: number,
  ) {}

  /** Discovers the services (all when none is named), their characteristics (with handles) and descriptors. */
  async discover(serviceUuids: string[] = []): Promise<GattCharacteristic[]> {
    const [services] = await this.#op<[NobleService[]]>('service discovery', this.peripheral, 'servicesDiscover', () =>
      this.peripheral.discoverServices(serviceUuids),
    );
    const out: GattCharacteristic[] = [];
    for (const service of services) {
      let raw: RawCharacteristic[] | undefined;
      const onRaw = (chars: RawCharacteristic[]) => {
        raw = chars;
      };
      service.on('characteristicsDiscovered', onRaw);
      let chars: NobleCharacteristic[];
      try {
        [chars] = await this.#op<[NobleCharacteristic[]]>(
          `characteristic discovery of ${service.uuid}`,
          service,
          'characteristicsDiscover',
          () => service.discoverCharacteristics([]),
        );
      } finally {
        service.off('characteristicsDiscovered', onRaw);
      }
      if (!raw) throw new Error('the noble binding does not report characteristic handles (characteristicsDiscovered)');
      out.push(...(await this.#withDescriptors(service.uuid, raw, chars)));
    }
    return out;
  }

  /**
   * Descriptors are discovered per UUID (noble reaches the last characteristic of a UUID). Find Information
   * lists every handle in the characteristic's range, so descriptor i sits at valueHandle + 1 + i; an earlier
   * characteristic with the same UUID and the same span gets the same layout.
   */
  async #withDescriptors(
    serviceUuid: string,
    raw: RawCharacteristic[],
    chars: NobleCharacteristic[],
  ): Promise<GattCharacteristic[]> {
    const layouts = new Map<string, { span: number; uuids: string[] }>();
    for (const uuid of new Set(chars.map((c) => c.uuid))) {
      // noble delivers the answer to the object it keeps under this UUID: the last one.
      const char = chars.filter((c) => c.uuid === uuid).at(-1)!;
      const last = raw.filter((r) => r.uuid === uuid).at(-1);
      if (!last) continue;
      const [descriptors] = await this.#op<[NobleDescriptor[]]>(
        `descriptor discovery of ${char.uuid}`,
        char,
        'descriptorsDiscover',
        () => char.discoverDescriptors(),
      );
      layouts.set(uuid, { span: spanOf(last, raw), uuids: descriptors.map((d) => d.uuid) });
    }
    return raw.map((r) => {
      const layout = layouts.get(r.uuid);
      const descriptors = new Map<string, number>();
      if (layout && layout.span === layout.uuids.length && spanOf(r, raw) === layout.span) {
        layout.uuids.forEach((uuid, i) => {
          if (!descriptors.has(uuid)) descriptors.set(uuid, r.valueHandle + 1 + i);
        });
      }
      return { serviceUuid, uuid: r.uuid, valueHandle: r.valueHandle, properties: r.properties, descriptors };
    });
  }

  async read(handle: number, what = `read of handle ${handle}`): Promise<Buffer> {
    const [data] = await this.#op<[Buffer]>(what, this.peripheral, `handleRead${handle}`, () =>
      this.peripheral.readHandle(handle),
    );
    return data;
  }

  async write(
    handle: number,
    data: Buffer,
    withoutResponse: boolean,
    what = `write of handle ${handle}`,
  ): Promise<void> {
    await this.#op(what, this.peripheral, `handleWrite${handle}`, () =>
      this.peripheral.writeHandle(handle, data, withoutResponse),
    );
  }

  /** Enables notifications (or indications when the characteristic cannot notify) by writing its CCC. */
  async subscribe(char: GattCharacteristic): Promise<'notify' | 'indicate'> {
    const ccc = char.descriptors.get(CCC_UUID);
    if (ccc === undefined) throw new Error(`characteristic ${char.uuid} @${char.valueHandle} has no CCC descriptor`);
    const mode = char.properties & PROP_NOTIFY ? 'notify' : 'indicate';
    await this.write(
      ccc,
      Buffer.from(mode === 'notify' ? [0x01, 0x00] : [0x02, 0x00]),
      false,
      `subscribe to ${char.uuid}`,
    );
    return mode;
  }

  #op<A extends unknown[]>(
    what: string,
    emitter: NoblePeripheral | NobleService | NobleCharacteristic,
    event: string,
    start: () => void,
  ): Promise<A> {
    return gattOperation<A>({ what, emitter, event, start, timeoutMs: this.timeoutMs, link: this.peripheral });
  }
}

function spanOf(r: RawCharacteristic, all: RawCharacteristic[]): number {
  const end = r.endHandle ?? nextStart(r, all);
  return Math.max(0, end - r.valueHandle);
}

function nextStart(r: RawCharacteristic, all: RawCharacteristic[]): number {
  const next = all.find((o) => o.startHandle > r.startHandle);
  return next ? next.startHandle - 1 : r.valueHandle;
}
