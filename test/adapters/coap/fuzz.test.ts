// Fuzzing the CoAP adapter: 100k random and mutated datagrams at the running gateway's socket (the process must
// keep answering and its bounded state must stay bounded, heap flat), plus 100k inputs straight into the pure
// decoders (a typed error, never a throw).
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { encode as cborEncode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { decodeStatePayload } from '../../../adapters/coap/content-format.js';
import { parseLinkFormat } from '../../../adapters/coap/link-format.js';
import { decodeMessage, encodeMessage } from '../../../adapters/coap/transport/message.js';
import { encodeSenmlCbor } from '../../../adapters/common/senml.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

function seeds(): Buffer[] {
  const t = Buffer.from([1, 2, 3, 4]);
  return [
    encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 1,
      token: t,
      path: ['ps', 'dev1'],
      contentFormat: 50,
      payload: Buffer.from('{"temperature":21.5,"x":[1,2,{"y":null}]}'),
    }),
    encodeMessage({
      type: 'NON',
      code: '0.02',
      messageId: 2,
      token: t,
      path: ['ps', 'dev1'],
      contentFormat: 60,
      payload: cborEncode({ a: 1, b: [true, 'x'] }),
    }),
    encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 3,
      token: t,
      path: ['ps', 'dev1'],
      contentFormat: 112,
      payload: encodeSenmlCbor([{ name: 'a/b', value: 1 }]),
    }),
    encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 4,
      token: t,
      path: ['ps', 'dev1'],
      contentFormat: 110,
      payload: Buffer.from('[{"bn":"x:","n":"v","v":1}]'),
    }),
    encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 5,
      token: t,
      path: ['ps', 'dev1', 'p'],
      block1: { num: 0, more: true, szx: 0 },
      payload: Buffer.alloc(16, 0x31),
    }),
    encodeMessage({ type: 'CON', code: '0.01', messageId: 6, token: t, path: ['ps', 'dev1', 'set'], observe: 0 }),
    encodeMessage({
      type: 'CON',
      code: '0.01',
      messageId: 7,
      token: t,
      path: ['ps', 'dev1', 'set'],
      block2: { num: 3, more: false, szx: 0 },
    }),
    encodeMessage({ type: 'CON', code: '2.05', messageId: 8, token: t, observe: 5, payload: Buffer.from('x') }),
    encodeMessage({ type: 'ACK', code: '0.00', messageId: 9 }),
    encodeMessage({ type: 'RST', code: '0.00', messageId: 10 }),
    encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 11,
      token: t,
      path: ['ps', 'dev1'],
      payload: Buffer.from('a=1&b=two'),
    }),
  ];
}

function mutate(seed: Buffer, i: number): Buffer {
  const out = Buffer.from(seed);
  const flips = 1 + (i % 4);
  const noise = randomBytes(flips * 2);
  for (let k = 0; k < flips; k++) out[(noise[k] as number) % out.length] = noise[flips + k] as number;
  if (i % 7 === 0) return out.subarray(0, (noise[0] as number) % (out.length + 1));
  if (i % 11 === 0) return Buffer.concat([out, randomBytes(i % 32)]);
  return out;
}

function datagram(i: number, all: Buffer[]): Buffer {
  return i % 2 === 0 ? randomBytes(i % 80) : mutate(all[i % all.length] as Buffer, i);
}

stopHarnessesAfterEach();

describe('CoAP fuzzing', () => {
  it('decoders return typed results for 100k random and mutated inputs', () => {
    const all = seeds();
    const formats = [undefined, 0, 42, 50, 60, 110, 112, 9999];
    let rejected = 0;
    const wrongCodes: string[] = [];
    let linkResults = 0;
    for (let i = 0; i < 100_000; i++) {
      const bytes = datagram(i, all);
      const message = decodeMessage(bytes);
      if (!message.ok) rejected++;
      const payload = message.ok ? message.message.payload : bytes;
      const result = decodeStatePayload(formats[i % formats.length], payload, i % 3 === 0 ? 'p' : undefined);
      if (!result.ok && result.code !== '4.00' && result.code !== '4.15') wrongCodes.push(result.code);
      if (typeof parseLinkFormat(payload).ok === 'boolean') linkResults++;
    }
    expect(wrongCodes).toEqual([]);
    expect(linkResults).toBe(100_000);
    expect(rejected).toBeGreaterThan(10_000);
  }, 120_000);

  it('keeps serving and keeps memory flat under 100k hostile datagrams', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const raw = createSocket('udp6');
    await new Promise<void>((resolve) => raw.bind(0, '::1', () => resolve()));
    raw.on('message', () => {}); // drain answers and RSTs
    const all = seeds();
    const heapAt: number[] = [];
    try {
      for (let round = 0; round < 100; round++) {
        for (let k = 0; k < 1000; k++) raw.send(datagram(round * 1000 + k, all), h.port, '::1');
        // Alive check: a real CON exchange must still succeed after every burst.
        const pong = await h.send('GET', '/.well-known/core');
        expect(pong.code).toBe('2.05');
        if (round === 20 || round === 99) {
          gc();
          heapAt.push(process.memoryUsage().heapUsed);
        }
      }
      const stats = h.adapter.status().details as Record<string, number>;
      expect(stats.reassembly).toBeLessThanOrEqual(256);
      expect(stats.block2_cache).toBeLessThanOrEqual(256);
      expect(stats.dedup).toBeLessThanOrEqual(20_000);
      expect(stats.command_observers).toBeLessThanOrEqual(4);
      const [early = 0, late = 0] = heapAt;
      // Flat: the last 80k datagrams may not grow the heap by more than 20 MB (bounded maps fill early).
      expect(late - early).toBeLessThan(20 * 1024 * 1024);
      const metrics = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
      expect(metrics).toMatch(/zephyr2mqtt_decode_errors_total\{[^}]*adapter="coap"[^}]*\} [1-9]/);
    } finally {
      raw.close();
    }
  }, 180_000);
});
