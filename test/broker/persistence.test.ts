import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startChildGateway } from './child-gateway.js';
import {
  collect,
  connectCollecting,
  endClients,
  rawConnect,
  roundTrip,
  startTestBroker,
  type TestBroker,
} from './helpers.js';

/** A TCP client speaking raw MQTT bytes, so a test can withhold acknowledgements. */
async function rawClient(port: number) {
  const socket = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let received = Buffer.alloc(0);
  const listeners = new Set<() => void>();
  socket.on('data', (d: Buffer) => {
    received = Buffer.concat([received, d]);
    for (const l of listeners) l();
  });
  socket.on('error', () => {});
  return {
    socket,
    waitFor(predicate: (bytes: Buffer) => boolean, ms = 5000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(received)) return;
          clearTimeout(timer);
          listeners.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`raw client: expected bytes not received (${received.toString('hex')})`));
        }, ms);
        listeners.add(check);
        check();
      });
    },
  };
}

const KEEPER = { clientId: 'keeper', clean: false, reconnectPeriod: 0 } as const;

async function sessionPresent(client: mqtt.MqttClient): Promise<boolean> {
  return Boolean((client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent);
}

describe('broker persistence across restarts', () => {
  let dir: string;
  let tb: TestBroker | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-persist-'));
  });
  afterEach(async () => {
    await endClients();
    await tb?.stop();
    tb = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  /** Leaves a retained message and a persistent session with queued QoS 1 and QoS 2 messages. */
  async function seed(url: string): Promise<void> {
    const keeper = await mqtt.connectAsync(url, KEEPER);
    await keeper.subscribeAsync({ 'k/#': { qos: 2 } });
    await keeper.endAsync();
    const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await pub.publishAsync('r/state', 'v1', { qos: 1, retain: true });
    await pub.publishAsync('r/gone', 'x', { qos: 1, retain: true });
    await pub.publishAsync('r/gone', '', { qos: 1, retain: true });
    await pub.publishAsync('k/1', 'one', { qos: 1 });
    await pub.publishAsync('k/2', 'two', { qos: 2 });
    await pub.publishAsync('k/3', 'three', { qos: 1 });
    await roundTrip(pub, 'sync/seed');
    await pub.endAsync();
  }

  async function verify(url: string): Promise<void> {
    const { client: keeper, seen: queued } = await connectCollecting(url, KEEPER);
    expect(await sessionPresent(keeper)).toBe(true);
    await queued.waitFor(3);
    // mqtt.js hands QoS 2 messages to the app only after PUBREL, so compare without order.
    expect(queued.messages.map((m) => [m.topic, m.payload, m.qos]).sort()).toEqual([
      ['k/1', 'one', 1],
      ['k/2', 'two', 2],
      ['k/3', 'three', 1],
    ]);
    // The restored subscription keeps routing new messages.
    const pub = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    await pub.publishAsync('k/4', 'four', { qos: 1 });
    await queued.waitFor(4);
    const late = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
    const retained = collect(late);
    await late.subscribeAsync('r/#', { qos: 1 });
    await roundTrip(late, 'sync/verify');
    expect(retained.messages.map((m) => [m.topic, m.payload, m.retain])).toEqual([
      ['r/state', 'v1', true],
      ['sync/verify', 'sync', false],
    ]);
    await Promise.all([keeper.endAsync(), pub.endAsync(), late.endAsync()]);
  }

  it('keeps retained messages and persistent sessions across a clean stop', async () => {
    tb = await startTestBroker({}, dir);
    await seed(tb.url());
    await tb.stop();
    tb = await startTestBroker({}, dir);
    expect(tb.log.lines.find((l) => l.msg === 'broker persistence loaded')).toMatchObject({ retained: 1, sessions: 1 });
    await verify(tb.url());
    // Delivered and acknowledged messages are gone from the session after the next restart.
    await tb.stop();
    tb = await startTestBroker({}, dir);
    const keeper = await mqtt.connectAsync(tb.url(), KEEPER);
    const again = collect(keeper);
    await roundTrip(keeper, 'k/sync');
    expect(again.messages.map((m) => m.topic)).toEqual(['k/sync']);
    await keeper.endAsync();
  });

  it('redelivers a QoS 1 message that was in flight (sent, never acknowledged) when the broker stopped', async () => {
    tb = await startTestBroker({}, dir);
    const port = tb.broker.addresses()[0]?.port ?? 0;
    const raw = await rawClient(port);
    raw.socket.write(rawConnect('no-acker', false));
    await raw.waitFor((b) => b.length >= 4 && b[0] === 0x20);
    // SUBSCRIBE id 1, 'inf/#' at QoS 1
    raw.socket.write(Buffer.from([0x82, 0x0a, 0x00, 0x01, 0x00, 0x05, ...Buffer.from('inf/#'), 0x01]));
    await raw.waitFor((b) => b.includes(0x90));
    await tb.broker.publish('inf/x', 'pending', { qos: 1 });
    await raw.waitFor((b) => b.includes(Buffer.from('pending')));
    raw.socket.destroy(); // never sends PUBACK
    await tb.stop();
    tb = await startTestBroker({}, dir);
    const { client: back, seen } = await connectCollecting(tb.url(), { clientId: 'no-acker', clean: false });
    const [msg] = await seen.waitFor(1);
    expect(msg).toMatchObject({ topic: 'inf/x', payload: 'pending', qos: 1 });
    await back.endAsync();
  });

  it('refuses to start with a clear error when the data dir is unusable', async () => {
    await writeFile(join(dir, 'broker'), 'a file where the journal directory should be');
    await expect(startTestBroker({}, dir)).rejects.toThrow(
      `broker persistence: ${join(dir, 'broker')} is a file, where the broker's directory belongs (EEXIST). ` +
        `Fix: move the file ${join(dir, 'broker')} away or remove it`,
    );
  });

  it('keeps nothing on disk with persistence off', async () => {
    tb = await startTestBroker({ persistence: false }, dir);
    const pub = await tb.connect();
    await pub.publishAsync('r/state', 'v1', { qos: 1, retain: true });
    await tb.stop();
    await expect(stat(join(dir, 'broker'))).rejects.toThrow(/ENOENT/);
  });

  it('skips a torn last record and compacts the journal on start', async () => {
    tb = await startTestBroker({}, dir);
    const pub = await tb.connect();
    for (let i = 0; i < 50; i++) await pub.publishAsync('r/counter', String(i), { qos: 1, retain: true });
    await endClients();
    await tb.stop();
    const journal = join(dir, 'broker', 'journal.jsonl');
    await appendFile(journal, '{"o":"r","k":{"cmd":"publish","topic":"r/torn","payl');
    tb = await startTestBroker({}, dir);
    expect(tb.log.lines.find((l) => l.msg === 'broker journal had unreadable records, skipped')).toMatchObject({
      journal,
      skippedLines: 1,
      discardedBytes: '{"o":"r","k":{"cmd":"publish","topic":"r/torn","payl'.length,
    });
    const lines = (await readFile(journal, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ o: 'r', k: { topic: 'r/counter' } });
    const sub = await tb.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('r/#');
    expect((await seen.waitFor(1))[0]).toMatchObject({ topic: 'r/counter', payload: '49', retain: true });
  });

  it('survives SIGKILL of a gateway process', async () => {
    const configPath = join(dir, 'gateway.yaml');
    await writeFile(
      configPath,
      stringify({
        gateway: { id: 'kill-test', data_dir: join(dir, 'data') },
        broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }], allow_anonymous: true },
        http: { enabled: false },
        adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } },
      }),
    );
    const first = await startChildGateway(configPath);
    try {
      await seed(`mqtt://127.0.0.1:${first.mqttPort}`);
    } finally {
      first.child.kill('SIGKILL');
    }
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await startChildGateway(configPath);
    try {
      await verify(`mqtt://127.0.0.1:${second.mqttPort}`);
    } finally {
      second.child.kill('SIGKILL');
      await second.exited;
    }
  }, 60_000);
});
