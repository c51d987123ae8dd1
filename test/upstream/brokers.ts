// Real brokers for the bridge tests: the gateway's embedded broker as the local side and aedes as the upstream
// (in-process, or as a child process that can be killed with SIGKILL), plus an observer client.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { Registry } from 'prom-client';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { startBroker } from '../../gateway/broker/broker.js';
import type { EmbeddedBroker } from '../../gateway/broker/types.js';
import { brokerConfigSchema } from '../../gateway/config/schema.js';
import { silentLogger } from '../../gateway/logger.js';
import { UpstreamBridge, type UpstreamDeps } from '../../gateway/upstream/bridge.js';
import { type UpstreamConfigInput, upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { startChildGateway } from '../broker/child-gateway.js';

export async function startLocalBroker(dataDir: string): Promise<{ broker: EmbeddedBroker; url: string }> {
  const config = brokerConfigSchema.parse({
    listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }],
    allow_anonymous: true,
  });
  const broker = await startBroker({ config, logger: silentLogger(), dataDir });
  const port = broker.addresses()[0]!.port;
  return { broker, url: `mqtt://127.0.0.1:${port}` };
}

export interface InProcessUpstream {
  url: string;
  port: number;
  aedes: Aedes;
  close(): Promise<void>;
}

export async function startUpstreamAedes(
  opts: {
    tls?: TlsOptions;
    password?: string;
    port?: number;
    /** Publishes refused (by topic, or by payload size as a broker's packet limit does): aedes (MQTT 3.1.1) then
     * closes the publisher's connection. */
    deny?: (topic: string, payloadBytes: number) => boolean;
  } = {},
): Promise<InProcessUpstream> {
  const aedes = await Aedes.createBroker({
    authenticate: (_client, username, password, done) => {
      if (opts.password === undefined) return done(null, true);
      if (username === 'bridge' && password?.toString() === opts.password) return done(null, true);
      done(Object.assign(new Error('Bad username or password'), { returnCode: 4 as const }), null);
    },
    authorizePublish: (_client, packet, done) =>
      done(opts.deny?.(packet.topic, packet.payload.length) ? new Error('denied') : null),
  });
  const sockets = new Set<Socket>();
  const server: Server = opts.tls ? createTlsServer(opts.tls, aedes.handle) : createServer(aedes.handle);
  server.on(opts.tls ? 'secureConnection' : 'connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(opts.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    port,
    aedes,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

/** A port where an upstream can be started later (the backlog builds up while nothing listens there). */
export async function reservedUpstreamPort(): Promise<number> {
  const probe = await startUpstreamAedes();
  await probe.close();
  return probe.port;
}

/** aedes behind a WebSocket server: ws://127.0.0.1:<port>/mqtt, or wss:// (an HTTPS server) with `tls`. */
export async function startUpstreamAedesWs(opts: { tls?: TlsOptions } = {}): Promise<InProcessUpstream> {
  const aedes = await Aedes.createBroker();
  const https = opts.tls ? createHttpsServer(opts.tls) : undefined;
  const wss = https
    ? new WebSocketServer({ server: https, path: '/mqtt' })
    : new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/mqtt' });
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws)));
  if (https) {
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
  } else {
    await once(wss, 'listening');
  }
  const port = ((https ?? wss).address() as { port: number }).port;
  return {
    url: `${https ? 'wss' : 'ws'}://127.0.0.1:${port}/mqtt`,
    port,
    aedes,
    async close() {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      if (https) await new Promise<void>((r) => https.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    },
  };
}

export interface SeenMessage {
  topic: string;
  payload: string;
  clientId?: string;
}

/** aedes in a child process: SIGKILL-able. Every accepted publish is printed (before its PUBACK) and collected. */
export class ChildUpstream {
  readonly seen: SeenMessage[] = [];
  #child: ChildProcess | undefined;
  #listeners = new Set<() => void>();
  port = 0;

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(port = this.port): Promise<void> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'fixtures/aedes-upstream.ts')],
      {
        env: { ...process.env, UPSTREAM_PORT: String(port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#child = child;
    const ready = new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.on('line', (line) => {
        const m = JSON.parse(line) as { ready?: number } & SeenMessage;
        if (m.ready !== undefined) return resolve(m.ready);
        this.seen.push(m);
        for (const l of this.#listeners) l();
      });
      child.once('exit', (code) => reject(new Error(`upstream fixture exited (${code}) before it was ready`)));
    });
    this.port = await ready;
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  /** Resolves when `predicate` holds over the collected messages, re-checked on every new one. */
  waitFor(predicate: (seen: SeenMessage[]) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    return waitUntil(this.#listeners, () => predicate(this.seen), timeoutMs, what);
  }
}

export function waitUntil(
  listeners: Set<() => void>,
  check: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onChange = () => {
      if (!check()) return;
      cleanup();
      resolve();
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      listeners.delete(onChange);
    };
    listeners.add(onChange);
  });
}

/** An MQTT client subscribed to `filter` that collects what it receives. */
export async function observe(url: string, filter = '#', opts: mqtt.IClientOptions = {}) {
  const client = mqtt.connect(url, { reconnectPeriod: 0, ...opts });
  const seen: Array<{ topic: string; payload: string; retain: boolean; qos: number; dup: boolean }> = [];
  const listeners = new Set<() => void>();
  // Listen before CONNACK: a persistent session's stored messages arrive right after it.
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, dup: packet.dup });
    for (const l of listeners) l();
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return {
    client,
    seen,
    waitFor: (predicate: (s: typeof seen) => boolean, timeoutMs = 10_000, what = 'messages') =>
      waitUntil(listeners, () => predicate(seen), timeoutMs, what),
    close: () => client.endAsync(true),
  };
}

export interface BridgeUnderTest {
  bridge: UpstreamBridge;
  events: Array<{ type: string; data: Record<string, unknown> }>;
  registry: Registry;
  /** Resolves with the first event named `type` at index `since` or later of `events`. */
  waitForEvent(type: string, timeoutMs?: number, since?: number): Promise<Record<string, unknown>>;
}

export function makeBridge(
  broker: EmbeddedBroker,
  dataDir: string,
  config: UpstreamConfigInput,
  gatewayId = 'gw1',
  hooks: Pick<UpstreamDeps, 'stateRetryMs'> = {},
): BridgeUnderTest {
  const events: BridgeUnderTest['events'] = [];
  const listeners = new Set<() => void>();
  const registry = new Registry();
  const bridge = new UpstreamBridge({
    config: upstreamConfigSchema.parse({
      enabled: true,
      protocol_version: '3.1.1', // aedes speaks MQTT 3.1.1 only; MQTT 5 is covered by the Mosquitto interop suite
      reconnect_min: 0.05,
      reconnect_max: 0.5,
      ...config,
    }),
    broker,
    logger: silentLogger(),
    dataDir,
    gatewayId,
    baseTopic: 'zephyr2mqtt',
    registry,
    event: (type, data) => {
      events.push({ type, data });
      for (const l of listeners) l();
    },
    queueOptions: { cursorPersistMs: 20, diskFullRetryMs: 50 },
    ...hooks,
  });
  return {
    bridge,
    events,
    registry,
    async waitForEvent(type, timeoutMs = 10_000, since = 0) {
      // `upstream` events are named by their data.event (connected, error, queue_disk_full...).
      const matches = (e: { type: string; data: Record<string, unknown> }, i: number) =>
        i >= since && (e.type === type || (e.type === 'upstream' && e.data.event === type));
      await waitUntil(listeners, () => events.some(matches), timeoutMs, `event ${type}`);
      return events.find(matches)!.data;
    },
  };
}

export async function publishMany(url: string, messages: Array<{ topic: string; payload: string }>, qos: 0 | 1 = 1) {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    await Promise.all(messages.map((m) => client.publishAsync(m.topic, m.payload, { qos })));
  } finally {
    await client.endAsync();
  }
}

export type { MqttClient };

/** The gateway side (broker + bridge) as a child process: SIGKILL-able. */
export class ChildGateway {
  #child: ChildProcess | undefined;
  port = 0;

  /** `script`: a prebuilt (bundled) fixture to run with plain node, as the benchmark does to measure RSS. */
  constructor(
    readonly env: Record<string, string>,
    private readonly script?: string,
  ) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(
      process.execPath,
      this.script ? [this.script] : ['--import', 'tsx', join(import.meta.dirname, 'fixtures/bridge-gateway.ts')],
      {
        env: { ...process.env, ...this.env, LOCAL_PORT: String(this.port) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    this.#child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => resolve((JSON.parse(line) as { ready: number }).ready));
      child.once('exit', (code) => reject(new Error(`gateway fixture exited (${code}) before it was ready`)));
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    await exited;
  }
}

/** The real gateway (`zephyr2mqtt run`) with the bridge enabled, as a child process. */
export class CliGateway {
  #kill: (() => Promise<void>) | undefined;
  port = 0;

  constructor(
    private readonly dir: string,
    private readonly bridge: Record<string, unknown>,
  ) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const configPath = join(this.dir, 'gateway.yaml');
    const config = {
      gateway: { id: 'gw1', base_topic: 'zephyr2mqtt', data_dir: join(this.dir, 'data') },
      broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }], allow_anonymous: true },
      http: { enabled: false },
      adapters: { coap: { enabled: false }, serial: { enabled: false }, ble: { enabled: false } },
      bridge: { enabled: true, protocol_version: '3.1.1', reconnect_min: 0.05, reconnect_max: 0.5, ...this.bridge },
    };
    await writeFile(configPath, JSON.stringify(config)); // JSON is YAML
    const child = await startChildGateway(configPath);
    this.port = child.mqttPort;
    this.#kill = async () => {
      if (child.child.exitCode === null && child.child.signalCode === null) {
        child.child.kill('SIGKILL');
        await child.exited;
      }
    };
  }

  async kill(): Promise<void> {
    await this.#kill?.();
  }
}
