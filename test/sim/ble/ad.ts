// Advertising data (AD / scan response) as bytes on air, and the parse noble's HCI GAP layer applies to them
// (lib/hci-socket/gap.js parseServices): the simulator hands noble the same advertisement object the radio would.
export interface ParsedAdvertisement {
  localName: string | undefined;
  txPowerLevel: number | undefined;
  manufacturerData: Buffer | undefined;
  serviceData: { uuid: string; data: Buffer }[];
  serviceUuids: string[];
  solicitationServiceUuids: string[];
}

export function adStructure(type: number, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

export const ad = {
  flags: (f = 0x06) => adStructure(0x01, Buffer.from([f])),
  name: (n: string) => adStructure(0x09, Buffer.from(n, 'utf8')),
  uuid16: (...uuids: number[]) =>
    adStructure(
      0x03,
      Buffer.concat(
        uuids.map((u) => {
          const b = Buffer.alloc(2);
          b.writeUInt16LE(u);
          return b;
        }),
      ),
    ),
  uuid128: (uuid: string) => adStructure(0x07, Buffer.from(uuid.replace(/-/g, ''), 'hex').reverse()),
  appearance: (a: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(a);
    return adStructure(0x19, b);
  },
  serviceData16: (uuid: number, data: Uint8Array) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(uuid);
    return adStructure(0x16, Buffer.concat([b, data]));
  },
  manufacturer: (company: number, data: Uint8Array) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(company);
    return adStructure(0xff, Buffer.concat([b, data]));
  },
};

export function emptyAdvertisement(): ParsedAdvertisement {
  return {
    localName: undefined,
    txPowerLevel: undefined,
    manufacturerData: undefined,
    serviceData: [],
    serviceUuids: [],
    solicitationServiceUuids: [],
  };
}

/** Merges one AD or SR payload into `adv` the way gap.js does (service lists reset on a non-SR report). */
export function parseAdvertisingData(
  eir: Buffer,
  adv: ParsedAdvertisement,
  isScanResponse: boolean,
): ParsedAdvertisement {
  if (!isScanResponse) {
    adv.serviceData = [];
    adv.serviceUuids = [];
    adv.solicitationServiceUuids = [];
  }
  let i = 0;
  while (i + 1 < eir.length) {
    const length = eir[i]!;
    if (length < 1 || i + length + 1 > eir.length) break;
    const type = eir[i + 1]!;
    const bytes = eir.subarray(i + 2, i + length + 1);
    switch (type) {
      case 0x02:
      case 0x03:
        for (let j = 0; j + 1 < bytes.length; j += 2) pushUnique(adv.serviceUuids, bytes.readUInt16LE(j).toString(16));
        break;
      case 0x06:
      case 0x07:
        for (let j = 0; j + 15 < bytes.length; j += 16) {
          pushUnique(
            adv.serviceUuids,
            Buffer.from(bytes.subarray(j, j + 16))
              .reverse()
              .toString('hex'),
          );
        }
        break;
      case 0x08:
      case 0x09:
        adv.localName = bytes.toString('utf8');
        break;
      case 0x0a:
        adv.txPowerLevel = bytes.readInt8(0);
        break;
      case 0x16:
        adv.serviceData.push({
          uuid: Buffer.from(bytes.subarray(0, 2)).reverse().toString('hex'),
          data: bytes.subarray(2),
        });
        break;
      case 0xff:
        adv.manufacturerData = bytes;
        break;
    }
    i += length + 1;
  }
  return adv;
}

function pushUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}
