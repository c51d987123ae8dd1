import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { PubAckFilter } from '../../gateway/upstream/puback-fast-path.js';

/** A deterministic pseudo-random sequence (the failing seed is printed by the assertion). */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

const packet = (type: number, body: number[]) => Buffer.from([type, ...remainingLength(body.length), ...body]);

interface Case {
  bytes: Buffer;
  /** What mqtt.js must still see, in order. */
  passed: Buffer;
  /** Message ids the bridge must be handed, in order (`id:reason` for a refusal mqtt.js cannot parse). */
  taken: Array<number | string>;
}

/** A random stream of packets: PUBACKs of ours and of others, v5 ones with reason codes and properties,
 * publishes of every length class, pings. */
function randomStream(seed: number, ours: Set<number>): Case {
  const r = rng(seed);
  const all: Buffer[] = [];
  const passed: Buffer[] = [];
  const taken: Case['taken'] = [];
  for (let n = 0; n < 200; n++) {
    const id = 1 + r(60);
    const hi = id >> 8;
    const lo = id & 0xff;
    let p: Buffer;
    let isTaken = false;
    let refusal: number | undefined;
    switch (r(8)) {
      case 0:
      case 1: // 3.1.1 / v5 success without reason code
        p = packet(0x40, [hi, lo]);
        isTaken = ours.has(id);
        break;
      case 2: {
        const reason = [0x00, 0x10, 0x80, 0x87, 0x97][r(5)]!;
        p = packet(0x40, [hi, lo, reason]);
        isTaken = ours.has(id) && (reason === 0x00 || reason === 0x10);
        break;
      }
      case 3: // v5 PUBACK with properties (a reason string): always mqtt.js'
        p = packet(0x40, [hi, lo, 0x00, 4, 0x1f, 0, 1, 0x41]);
        break;
      case 4: {
        const size = [0, 5, 126, 127, 128, 300, 20_000, 17_000][r(8)]!;
        p = packet(0x32, [0, 3, 0x61, 0x2f, 0x62, hi, lo, ...Buffer.alloc(size, r(256))]);
        break;
      }
      case 5:
        p = Buffer.from([0xd0, 0x00]); // PINGRESP
        break;
      case 6: {
        // Mosquitto's 0x95 Packet too large (message_size_limit), which mqtt.js cannot parse: a refusal of ours
        const type = [0x40, 0x50][r(2)]!;
        p = r(2) === 0 ? packet(type, [hi, lo, 0x95]) : packet(type, [hi, lo, 0x95, 4, 0x1f, 0, 1, 0x41]);
        isTaken = ours.has(id);
        refusal = 0x95;
        break;
      }
      default:
        p = packet(0x50, [hi, lo]); // PUBREC: not a PUBACK
    }
    all.push(p);
    if (isTaken) taken.push(refusal === undefined ? id : `${id}:${refusal}`);
    else passed.push(p);
  }
  return { bytes: Buffer.concat(all), passed: Buffer.concat(passed), taken };
}

/** Writes `bytes` in random-sized chunks through a filter into a slow destination. */
async function run(bytes: Buffer, seed: number, ours: Set<number>) {
  const r = rng(seed * 7919);
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + r(r(4) === 0 ? 3 : 4000);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const received: Buffer[] = [];
  let ended = false;
  const dest = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _enc, done) {
      received.push(Buffer.from(chunk));
      if (r(3) === 0) setImmediate(done);
      else done();
    },
    final(done) {
      ended = true;
      done();
    },
  });
  const taken: Case['taken'] = [];
  const filter = new PubAckFilter(dest, () => (id, refusal) => {
    if (!ours.has(id)) return false;
    taken.push(refusal === undefined ? id : `${id}:${refusal}`);
    return true;
  });
  await pipeline(Readable.from(chunks), filter);
  await new Promise<void>((resolve) => (ended ? resolve() : dest.once('finish', () => resolve())));
  return { passed: Buffer.concat(received), taken };
}

describe('PUBACK fast path', () => {
  it('takes exactly the successful PUBACKs and unparseable refusals the bridge claims and passes every other byte through in order', async () => {
    const ours = new Set(Array.from({ length: 30 }, (_, i) => 1 + i * 2));
    for (let seed = 1; seed <= 150; seed++) {
      const expected = randomStream(seed, ours);
      const got = await run(expected.bytes, seed, ours);
      expect({ seed, taken: got.taken }).toEqual({ seed, taken: expected.taken });
      expect({ seed, equal: got.passed.equals(expected.passed) }).toEqual({ seed, equal: true });
    }
  });

  it('without a claimant (no pump running) passes everything through', async () => {
    const c = randomStream(7, new Set());
    const received: Buffer[] = [];
    const dest = new Writable({
      write(chunk: Buffer, _e, done) {
        received.push(Buffer.from(chunk));
        done();
      },
    });
    await pipeline(
      Readable.from([c.bytes.subarray(0, 1000), c.bytes.subarray(1000)]),
      new PubAckFilter(dest, () => undefined),
    );
    expect(Buffer.concat(received).equals(c.bytes)).toBe(true);
  });

  it('hands a malformed length and everything after it to mqtt.js unframed', async () => {
    const bad = Buffer.from([0x40, 0xff, 0xff, 0xff, 0xff, 0x01, 0x40, 0x02, 0x00, 0x01]);
    const stream = Buffer.concat([packet(0x40, [0, 1]), bad]);
    const got = await run(stream, 3, new Set([1]));
    expect(got.taken).toEqual([1]);
    expect(got.passed.equals(bad)).toBe(true);
  });

  it('passes a packet cut off by the end of the connection on, so mqtt.js sees what arrived', async () => {
    const stream = Buffer.concat([packet(0x40, [0, 1]), Buffer.from([0x32, 0x10, 0x00])]);
    const got = await run(stream, 4, new Set([1]));
    expect(got.taken).toEqual([1]);
    expect([...got.passed]).toEqual([0x32, 0x10, 0x00]);
  });
});
