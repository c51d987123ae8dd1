// Starts the embedded broker on its own (no gateway) on ephemeral loopback ports with a temp data dir.
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { type BrokerDeps, startBroker } from '../../gateway/broker/broker.js';
import type { EmbeddedBroker } from '../../gateway/broker/types.js';
import { brokerConfigSchema } from '../../gateway/config/schema.js';
import type { Logger } from '../../gateway/logger.js';

export type BrokerInput = Parameters<typeof brokerConfigSchema.parse>[0] & Record<string, unknown>;

export interface CapturedLog {
  logger: Logger;
  lines: Array<{ level: number; msg: string; [k: string]: unknown }>;
}

/** A logger at `level` that keeps every line it writes, parsed, in `lines`. */
export function captureLogger(level: 'debug' | 'info' = 'debug'): CapturedLog {
  const lines: CapturedLog['lines'] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface TestBroker {
  broker: EmbeddedBroker;
  dataDir: string;
  log: CapturedLog;
  url(type?: 'mqtt' | 'ws' | 'mqtts'): string;
  connect(opts?: IClientOptions, type?: 'mqtt' | 'ws' | 'mqtts'): Promise<MqttClient>;
  /** Stops the broker but keeps the data dir (for restart tests). */
  stop(): Promise<void>;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
}

const clients = new Set<MqttClient>();

export async function startTestBroker(
  input: BrokerInput = {},
  dataDir?: string,
  deps: Pick<BrokerDeps, 'registry' | 'onPersistenceEvent' | 'admitClientsWhen'> = {},
): Promise<TestBroker> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), 'z2m-broker-')));
  const config = brokerConfigSchema.parse({
    listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }],
    allow_anonymous: true,
    ...input,
  });
  const log = captureLogger();
  let broker: EmbeddedBroker;
  try {
    broker = await startBroker({ config, logger: log.logger, dataDir: dir, ...deps });
  } catch (err) {
    if (!dataDir) await rm(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const tb: TestBroker = {
    broker,
    dataDir: dir,
    log,
    url(type = 'mqtt') {
      const addr = broker.addresses().find((a) => a.type === type);
      if (!addr) throw new Error(`no ${type} listener`);
      const path = type === 'ws' ? (config.listeners.find((l) => l.type === 'ws') as { path: string }).path : '';
      return `${type}://127.0.0.1:${addr.port}${path}`;
    },
    async connect(opts = {}, type = 'mqtt') {
      const client = await mqtt.connectAsync(tb.url(type), { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
      clients.add(client);
      return client;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await broker.close();
    },
    async dispose() {
      await tb.stop();
      if (!dataDir) await rm(dir, { recursive: true, force: true });
    },
  };
  return tb;
}

/** Ends every client the helpers connected (call in afterEach). */
export async function endClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.endAsync(true).catch(() => {})));
  clients.clear();
}

/**
 * Connects with the message collector in place before the CONNACK: a resumed session's queued messages may come in
 * the same TCP read as the CONNACK, and mqtt.js hands them out before connectAsync's promise lets a caller attach
 * a handler.
 */
export async function connectCollecting(
  url: string,
  opts: IClientOptions,
): Promise<{ client: MqttClient; seen: ReturnType<typeof collect> }> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.add(client);
  const seen = collect(client);
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return { client, seen };
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** Collects messages and lets a test await the n-th one with a bounded timeout. */
export function collect(client: MqttClient): {
  messages: Received[];
  waitFor(n: number, ms?: number): Promise<Received[]>;
} {
  const messages: Received[] = [];
  const waiters: Array<() => void> = [];
  client.on('message', (topic, payload, packet) => {
    messages.push({ topic, payload: payload.toString('utf8'), qos: packet.qos, retain: packet.retain });
    for (const w of waiters.splice(0)) w();
  });
  return {
    messages,
    waitFor(n, ms = 5000) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`expected ${n} messages, got ${messages.length}`)), ms);
        const check = () => {
          if (messages.length >= n) {
            clearTimeout(deadline);
            resolve(messages.slice());
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Resolves with the CONNACK error code of a refused connection (throws if the connection was accepted). */
export async function refusedCode(url: string, opts: IClientOptions): Promise<number | string | undefined> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    await client.endAsync(true);
  } catch (err) {
    return (err as { code?: number | string }).code;
  }
  throw new Error('connection was accepted');
}

/** A round trip through the broker proves earlier packets from this client were processed. */
export async function roundTrip(client: MqttClient, topic: string): Promise<void> {
  await client.subscribeAsync(topic, { qos: 1 });
  const got = new Promise<void>((resolve) => {
    const on = (t: string) => {
      if (t === topic) {
        client.off('message', on);
        resolve();
      }
    };
    client.on('message', on);
  });
  await client.publishAsync(topic, 'sync', { qos: 1 });
  await got;
}

/** The SUBACK return codes for one SUBSCRIBE (mqtt.js rejects when any is 0x80; the packet still carries them). */
export async function subackCodes(
  client: MqttClient,
  subs: Record<string, { qos: 0 | 1 | 2 }>,
): Promise<Array<[string, number]>> {
  const topics = Object.keys(subs);
  try {
    const granted = await client.subscribeAsync(subs);
    return granted.map((g) => [g.topic, g.qos]);
  } catch (err) {
    const granted = (err as { packet?: { granted?: number[] } }).packet?.granted;
    if (!granted) throw err;
    return granted.map((code, i) => [topics[i] ?? '', code]);
  }
}

/** A 3.1.1 CONNECT with the given client id and clean-session flag, built by hand to bypass client-side checks. */
export function rawConnect(clientId: string, clean: boolean): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, clean ? 0x02 : 0x00, 0x00, 0x3c]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * Opens a TCP connection, writes `bytes`, and resolves with what the broker sent back until it closed, `ms` passed,
 * or `until` holds for what arrived so far (the connection is then closed by the test).
 */
export function rawExchange(
  port: number,
  bytes: Buffer[],
  ms = 2000,
  until?: (data: Buffer) => boolean,
): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      for (const b of bytes) socket.write(b);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ data: Buffer.concat(chunks), closed: false });
    }, ms);
    socket.on('data', (d) => {
      chunks.push(d);
      const data = Buffer.concat(chunks);
      if (until?.(data)) {
        clearTimeout(timer);
        socket.destroy();
        resolve({ data, closed: false });
      }
    });
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks), closed: true });
    });
  });
}

/** Resolves with why a connection attempt failed (error, or closed before CONNACK); rejects if it connected. */
export function connectFailure(url: string, opts: IClientOptions, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: ms, ...opts });
    const finish = (why: string) => {
      clearTimeout(timer);
      client.end(true);
      resolve(why);
    };
    const timer = setTimeout(() => finish('timeout'), ms + 1000);
    client.once('connect', () => {
      clearTimeout(timer);
      client.end(true);
      reject(new Error('connection was accepted'));
    });
    client.once('error', (err) => finish(err.message));
    client.once('close', () => finish('closed'));
  });
}
