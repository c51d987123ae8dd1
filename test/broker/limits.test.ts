import mqtt from 'mqtt';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { PacketSizeScanner } from '../../gateway/broker/packet-size-guard.js';
import { SESSION_DROPS_METRIC } from '../../gateway/broker/persistence-setup.js';
import {
  collect,
  connectCollecting,
  endClients,
  rawConnect,
  rawExchange,
  roundTrip,
  startTestBroker,
  type TestBroker,
} from './helpers.js';
import { RawSession } from './raw-session.js';

/** A PUBLISH (QoS 0) frame with the given topic and payload size. */
function publishFrame(topic: string, payloadBytes: number): Buffer {
  const t = Buffer.from(topic);
  const remaining = 2 + t.length + payloadBytes;
  const len: number[] = [];
  let x = remaining;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    len.push(byte);
  } while (x > 0);
  return Buffer.concat([Buffer.from([0x30, ...len, t.length >> 8, t.length & 0xff]), t, Buffer.alloc(payloadBytes, 7)]);
}

describe('PacketSizeScanner', () => {
  it('accepts packets up to the limit and flags the first one above it, whatever the chunking', () => {
    const limit = 300;
    const ok = publishFrame('a/b', 300 - 1 - 2 - 5); // exactly 300 bytes
    expect(ok.length).toBe(300);
    const big = publishFrame('a/b', 400);
    const stream = Buffer.concat([ok, ok, Buffer.from([0xc0, 0x00]), big]);
    for (let round = 0; round < 200; round++) {
      const scanner = new PacketSizeScanner(limit);
      let verdict = 0;
      let offset = 0;
      while (offset < stream.length && verdict === 0) {
        const size = 1 + Math.floor(Math.random() * 40);
        verdict = scanner.scan(stream.subarray(offset, offset + size));
        offset += size;
      }
      expect(verdict).toBe(big.length);
      // The flagged packet starts inside the last chunk, or (packetStart 0) in an earlier one.
      expect(scanner.packetStart).toBeGreaterThanOrEqual(0);
      expect(offset).toBeGreaterThan(2 * ok.length + 2);
    }
  });

  it('flags a remaining length longer than four bytes as malformed', () => {
    expect(new PacketSizeScanner(1 << 28).scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(-1);
  });

  it('never throws on random bytes', () => {
    for (let round = 0; round < 500; round++) {
      const scanner = new PacketSizeScanner(1 + Math.floor(Math.random() * 1000));
      const bytes = Buffer.from(
        Array.from({ length: Math.floor(Math.random() * 200) }, () => Math.floor(Math.random() * 256)),
      );
      const verdict = scanner.scan(bytes);
      expect(verdict === 0 || verdict === -1 || verdict > 0).toBe(true);
    }
  });
});

describe('broker limits', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('closes a client that sends a packet over max_packet_size and does not deliver it', async () => {
    tb = await startTestBroker({ max_packet_size: 1024 });
    const watcher = await tb.connect();
    await watcher.subscribeAsync('big/#', { qos: 0 });
    const seen = collect(watcher);
    const sender = await tb.connect();
    const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
    sender.publish('big/ok', Buffer.alloc(900, 1));
    sender.publish('big/too-big', Buffer.alloc(2000, 1));
    await closed;
    await roundTrip(watcher, 'big/sync');
    expect(seen.messages.map((m) => m.topic)).toEqual(['big/ok', 'big/sync']);
    expect(tb.log.lines.some((l) => l.msg === 'packet over max_packet_size, connection closed')).toBe(true);
  });

  it('closes the connection as soon as the header announces an oversized packet, before the body arrives', async () => {
    tb = await startTestBroker({ max_packet_size: 256 * 1024 });
    const port = tb.broker.addresses()[0]?.port ?? 0;
    // Header of a 100 MiB PUBLISH with only its first bytes sent: aedes alone would wait and buffer.
    const header = publishFrame('x', 100 * 1024 * 1024).subarray(0, 16);
    const res = await rawExchange(port, [rawConnect('big-one', true), header], 5000);
    expect(res.closed).toBe(true);
  });

  it('applies max_packet_size to WebSocket clients too', async () => {
    tb = await startTestBroker({ max_packet_size: 1024, listeners: [{ type: 'ws', host: '127.0.0.1', port: 0 }] });
    const sender = await tb.connect({}, 'ws');
    const closed = new Promise<void>((resolve) => sender.once('close', () => resolve()));
    sender.publish('big/ws', Buffer.alloc(5000, 1));
    await closed;
    expect(sender.connected).toBe(false);
  });

  it('disconnects a client holding more than max_inflight QoS 2 messages without PUBREL', async () => {
    tb = await startTestBroker({ max_inflight: 2 });
    const port = tb.broker.addresses()[0]?.port ?? 0;
    const qos2 = (id: number) =>
      Buffer.from([0x34, 0x08, 0x00, 0x03, ...Buffer.from('a/b'), 0x00, id, ...Buffer.from('x')]);
    const withinLimit = await rawExchange(port, [rawConnect('q2-ok', true), qos2(1), qos2(2)], 1000);
    expect(withinLimit.closed).toBe(false);
    // CONNACK then two PUBRECs (0x50) and nothing else.
    expect([...withinLimit.data].filter((b, i) => b === 0x50 && i % 4 === 0)).toHaveLength(2);
    const over = await rawExchange(port, [rawConnect('q2-over', true), qos2(1), qos2(2), qos2(3)], 5000);
    expect(over.closed).toBe(true);
  });

  it('keeps at most max_queued messages for an offline persistent session, and counts the drops', async () => {
    const registry = new Registry();
    tb = await startTestBroker({ max_queued: 3 }, undefined, { registry });
    const opts = { clientId: 'slowpoke', clean: false, reconnectPeriod: 0 } as const;
    const sub = await mqtt.connectAsync(tb.url(), opts);
    await sub.subscribeAsync('q/#', { qos: 1 });
    await sub.endAsync();
    const pub = await tb.connect();
    for (let i = 1; i <= 6; i++) await pub.publishAsync('q/n', String(i), { qos: 1 });
    const { client: back, seen } = await connectCollecting(tb.url(), opts);
    await seen.waitFor(3);
    await roundTrip(back, 'q/sync');
    expect(seen.messages.map((m) => m.payload)).toEqual(['1', '2', '3', 'sync']);
    expect(tb.log.lines.filter((l) => l.msg.startsWith('session queue full: message not kept')).length).toBe(3);
    expect(await registry.getSingleMetricAsString(SESSION_DROPS_METRIC)).toMatch(/ 3$/m);
  });

  it.each([1, 2] as const)(
    'keeps a connected persistent client whose queue is full, and sends it the messages not kept (QoS %i)',
    async (qos) => {
      const registry = new Registry();
      tb = await startTestBroker({ max_queued: 3 }, undefined, { registry });
      const raw = await RawSession.connect(Number(new URL(tb.url()).port), 'unhurried');
      await raw.subscribe([{ topic: 'f/#', qos }]);
      const pub = await tb.connect();
      // None acknowledged yet: the queue holds three unacknowledged messages, the next three are not kept.
      for (let i = 1; i <= 6; i++) await pub.publishAsync('f/n', String(i), { qos });
      await raw.until('6 messages', () => raw.publishes.length >= 6);
      expect(raw.publishes.map((p) => Buffer.from(p.payload).toString())).toEqual(['1', '2', '3', '4', '5', '6']);
      await raw.acknowledge(raw.publishes);
      expect(raw.closed).toBe(false);
      expect(await registry.getSingleMetricAsString(SESSION_DROPS_METRIC)).toMatch(/ 3$/m);
      expect(tb.log.lines.filter((l) => l.level >= 50)).toEqual([]);
      // Acknowledged, the queue has room again: the next message is kept and sent.
      await pub.publishAsync('f/n', '7', { qos });
      await raw.until('the 7th message', () => raw.publishes.length >= 7);
      expect(await registry.getSingleMetricAsString(SESSION_DROPS_METRIC)).toMatch(/ 3$/m);
      raw.close();
    },
  );
});
