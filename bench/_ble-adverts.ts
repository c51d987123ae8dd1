// Simulated BTHome advertisers shared by bench/ble.ts and its memory child (bench/_ble-memory.ts).

/** The i-th distinct advertiser address. */
export function advertiserAddress(i: number): string {
  return `d0:00:00:00:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
}

/** A BTHome v2 frame (packet id, temperature, humidity) that changes with n, so no advert is a duplicate. */
export function bthomeFrame(n: number): Buffer {
  const t = Buffer.alloc(2);
  t.writeInt16LE((n % 4000) - 1000);
  return Buffer.concat([Buffer.from([0x40, 0x00, n & 0xff, 0x02]), t, Buffer.from([0x03, 0xbf, 0x13])]);
}
