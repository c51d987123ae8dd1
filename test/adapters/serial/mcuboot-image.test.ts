// The MCUboot image parser: images laid out as imgtool does (built in buildImage), broken ones, and fuzz.
import { describe, expect, it } from 'vitest';
import { parseMcubootImage } from '../../../adapters/common/smp/mcuboot-image.js';
import { buildImage, imageHashOf } from './mcuboot-builder.js';
import { randomBytes, rng } from './random.js';

const body = Uint8Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff);

function parsed(file: Uint8Array) {
  const r = parseMcubootImage(file);
  if (!r.ok) throw new Error(`expected an image, got: ${r.reason}`);
  return r.value;
}

function rejected(file: Uint8Array): string {
  const r = parseMcubootImage(file);
  if (r.ok) throw new Error('expected a rejection');
  return r.reason;
}

describe('parseMcubootImage', () => {
  it('reads version, sizes and the SHA256 TLV of an image without protected TLVs', () => {
    const image = buildImage({ body, version: [2, 5, 300, 0], hdrSize: 0x200, loadAddr: 0x10000, flags: 0x10 });
    const info = parsed(image);
    expect(info.version).toBe('2.5.300');
    expect(info.size).toBe(image.length);
    expect(info.headerSize).toBe(0x200);
    expect(info.imageSize).toBe(1000);
    expect(info.loadAddr).toBe(0x10000);
    expect(info.flags).toBe(0x10);
    expect(info.imageHash?.toString('hex')).toBe(imageHashOf(image).toString('hex'));
    expect(info.tlvs.map((t) => [t.type, t.protected])).toEqual([[0x10, false]]);
  });

  it('appends a non-zero build number and skips the protected TLV area to find the hash', () => {
    const counter = Uint8Array.of(7, 0, 0, 0);
    const image = buildImage({
      body,
      version: [1, 0, 0, 42],
      protectedTlvs: [{ type: 0x50, value: counter }],
      tlvs: [{ type: 0x01, value: new Uint8Array(32).fill(9) }],
    });
    const info = parsed(image);
    expect(info.version).toBe('1.0.0.42');
    expect(info.imageHash?.equals(imageHashOf(image, 12))).toBe(true);
    expect(info.tlvs.map((t) => [t.type, t.protected, t.value.length])).toEqual([
      [0x50, true, 4],
      [0x10, false, 32],
      [0x01, false, 32],
    ]);
  });

  it('accepts an image without a SHA256 TLV (imageHash absent) and trailing padding', () => {
    const image = Buffer.concat([buildImage({ body, noSha: true }), Buffer.alloc(64, 0xff)]);
    const info = parsed(image);
    expect(info.imageHash).toBeUndefined();
    expect(info.size).toBe(image.length);
  });

  it('takes a SHA-384 or SHA-512 TLV as the image hash when there is no SHA-256 one', () => {
    const sha384 = new Uint8Array(48).fill(0x38);
    const sha512 = new Uint8Array(64).fill(0x51);
    const only512 = parsed(buildImage({ body, noSha: true, tlvs: [{ type: 0x12, value: sha512 }] }));
    expect(only512.imageHash?.equals(sha512)).toBe(true);
    const both = parsed(
      buildImage({
        body,
        noSha: true,
        tlvs: [
          { type: 0x12, value: sha512 },
          { type: 0x11, value: sha384 },
        ],
      }),
    );
    expect(both.imageHash?.equals(sha384)).toBe(true);
    // SHA-256 comes first when present.
    expect(parsed(buildImage({ body, tlvs: [{ type: 0x12, value: sha512 }] })).imageHash).toHaveLength(32);
    const short512 = buildImage({ body, noSha: true, tlvs: [{ type: 0x12, value: new Uint8Array(32) }] });
    expect(rejected(short512)).toBe('SHA512 TLV has 32 bytes, not 64');
  });

  it('names what is wrong with a broken image', () => {
    const good = buildImage({ body, protectedTlvs: [{ type: 0x50, value: Uint8Array.of(1, 0, 0, 0) }] });
    expect(rejected(good.subarray(0, 20))).toMatch(/shorter than the 32-byte header/);
    const badMagic = Buffer.from(good);
    badMagic.writeUInt32LE(0x12345678, 0);
    expect(rejected(badMagic)).toBe('not an MCUboot image: bad magic 0x12345678 (expected 0x96f3b83d)');
    expect(rejected(good.subarray(0, 500))).toMatch(/^truncated image: header says 1032 bytes/);
    // Cut inside the unprotected TLV area (its info says 40 bytes).
    expect(rejected(good.subarray(0, good.length - 5))).toMatch(/^truncated TLV area: tlv_tot 40/);
    const badProtMagic = Buffer.from(good);
    badProtMagic.writeUInt16LE(0x6907, 1032);
    expect(rejected(badProtMagic)).toMatch(/^bad protected TLV area: magic 0x6907 at offset 1032/);
    const wrongProtSize = Buffer.from(good);
    wrongProtSize.writeUInt16LE(16, 10);
    expect(rejected(wrongProtSize)).toMatch(/protected TLV area is 12 bytes, header says 16/);
    const shortHash = buildImage({ body, noSha: true, tlvs: [{ type: 0x10, value: new Uint8Array(20) }] });
    expect(rejected(shortHash)).toBe('SHA256 TLV has 20 bytes, not 32');
    const entryPastEnd = Buffer.from(buildImage({ body }));
    entryPastEnd.writeUInt16LE(40, entryPastEnd.length - 34); // the SHA TLV's len: 40 > the 32 left
    expect(rejected(entryPastEnd)).toMatch(/^truncated TLV area: TLV 0x10 at offset/);
  });
});

describe('parseMcubootImage under fuzzing', () => {
  it('returns a typed result for random and mutated bytes, never a throw', () => {
    const next = rng(0x0ca7);
    const base = buildImage({ body: body.subarray(0, 200), protectedTlvs: [{ type: 0x50, value: new Uint8Array(4) }] });
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      let file: Uint8Array;
      if (i % 3 === 0) file = randomBytes(next, Math.floor(next() * 300));
      else {
        file = Uint8Array.from(base.subarray(0, Math.floor(next() * (base.length + 1))));
        // Mutate a few bytes, mostly in the header and TLV areas where the lengths are.
        for (let m = 0; m < 1 + Math.floor(next() * 4) && file.length > 0; m++) {
          const at = next() < 0.5 ? Math.floor(next() * Math.min(32, file.length)) : Math.floor(next() * file.length);
          file[at] = Math.floor(next() * 256);
        }
      }
      let result: ReturnType<typeof parseMcubootImage>;
      try {
        result = parseMcubootImage(file);
      } catch (err) {
        throw new Error(`seed 0x0ca7 iteration ${i}: threw ${String(err)}`);
      }
      if (result.ok) {
        accepted++;
        expect(result.value.size).toBe(file.length);
      } else expect(result.reason).toMatch(/\S/);
    }
    expect(accepted).toBeGreaterThan(0);
  });
});
