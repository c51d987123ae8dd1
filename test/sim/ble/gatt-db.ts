// A GATT server's attribute table with real handles, built from service definitions the way Zephyr's
// BT_GATT_SERVICE_DEFINE lays them out: service declaration, then per characteristic its declaration, value and
// descriptors (a CCC is appended when the characteristic notifies or indicates and has none).

export type CharProp = 'read' | 'writeWithoutResponse' | 'write' | 'notify' | 'indicate';

const PROP_BITS: Record<CharProp, number> = {
  read: 0x02,
  writeWithoutResponse: 0x04,
  write: 0x08,
  notify: 0x10,
  indicate: 0x20,
};

export interface DescriptorDef {
  uuid: string;
  value: Buffer;
}

export interface CharacteristicDef {
  uuid: string;
  properties: CharProp[];
  value?: Buffer;
  descriptors?: DescriptorDef[];
  /** Called on a write from the central; return false to refuse (the peripheral then never answers). */
  onWrite?: (data: Buffer) => boolean | undefined;
  /** The device never answers reads of this characteristic (tests the GATT timeout). */
  silent?: boolean;
  /**
   * Writes to its CCC are refused and never answered: what noble makes of a device that wants an encrypted link
   * (it tries to encrypt, an unbonded device does not let it, and the write stays unanswered).
   */
  refuseSubscribe?: boolean;
}

export interface ServiceDef {
  uuid: string;
  characteristics: CharacteristicDef[];
}

export interface Attribute {
  handle: number;
  kind: 'service' | 'characteristic' | 'value' | 'descriptor';
  uuid: string;
  value: Buffer;
  char?: DbCharacteristic;
}

export interface DbCharacteristic {
  def: CharacteristicDef;
  serviceUuid: string;
  uuid: string;
  startHandle: number;
  valueHandle: number;
  endHandle: number;
  properties: number;
  propertyNames: CharProp[];
  cccHandle?: number;
}

export interface DbService {
  uuid: string;
  startHandle: number;
  endHandle: number;
  characteristics: DbCharacteristic[];
}

export class GattDb {
  readonly attributes = new Map<number, Attribute>();
  readonly services: DbService[] = [];

  constructor(defs: ServiceDef[]) {
    let handle = 1;
    for (const sd of defs) {
      const service: DbService = { uuid: sd.uuid, startHandle: handle, endHandle: handle, characteristics: [] };
      this.attributes.set(handle, { handle, kind: 'service', uuid: '2800', value: Buffer.alloc(0) });
      handle++;
      for (const cd of sd.characteristics) {
        const startHandle = handle++;
        const valueHandle = handle++;
        const descriptors = [...(cd.descriptors ?? [])];
        const notifies = cd.properties.includes('notify') || cd.properties.includes('indicate');
        if (notifies && !descriptors.some((d) => d.uuid === '2902')) {
          descriptors.push({ uuid: '2902', value: Buffer.from([0, 0]) });
        }
        const char: DbCharacteristic = {
          def: cd,
          serviceUuid: sd.uuid,
          uuid: cd.uuid,
          startHandle,
          valueHandle,
          endHandle: valueHandle + descriptors.length,
          properties: cd.properties.reduce((bits, p) => bits | PROP_BITS[p], 0),
          propertyNames: cd.properties,
        };
        this.attributes.set(startHandle, {
          handle: startHandle,
          kind: 'characteristic',
          uuid: '2803',
          value: Buffer.alloc(0),
          char,
        });
        this.attributes.set(valueHandle, {
          handle: valueHandle,
          kind: 'value',
          uuid: cd.uuid,
          value: cd.value ?? Buffer.alloc(0),
          char,
        });
        for (const d of descriptors) {
          const h = handle++;
          if (d.uuid === '2902') char.cccHandle = h;
          this.attributes.set(h, { handle: h, kind: 'descriptor', uuid: d.uuid, value: Buffer.from(d.value), char });
        }
        service.characteristics.push(char);
      }
      service.endHandle = handle - 1;
      this.services.push(service);
    }
  }

  service(uuid: string): DbService | undefined {
    return this.services.find((s) => s.uuid === uuid);
  }

  /** The characteristic a UUID reaches, as noble's HCI GATT layer resolves it: the last one wins. */
  byUuid(serviceUuid: string, uuid: string): DbCharacteristic | undefined {
    return this.service(serviceUuid)
      ?.characteristics.filter((c) => c.uuid === uuid)
      .at(-1);
  }

  /** All characteristics with this UUID, in handle order (0 = first). */
  all(uuid: string): DbCharacteristic[] {
    return this.services.flatMap((s) => s.characteristics.filter((c) => c.uuid === uuid));
  }

  descriptorsOf(char: DbCharacteristic): Attribute[] {
    const out: Attribute[] = [];
    for (let h = char.valueHandle + 1; h <= char.endHandle; h++) {
      const a = this.attributes.get(h);
      if (a) out.push(a);
    }
    return out;
  }

  resetSubscriptions(): void {
    for (const a of this.attributes.values())
      if (a.kind === 'descriptor' && a.uuid === '2902') a.value = Buffer.from([0, 0]);
  }
}
