// Starts the real gateway in-process on ephemeral ports with a temporary data dir, for black-box tests.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { stringify } from 'yaml';
import type { AdapterModule } from '../../gateway/adapter.js';
import { filterMatchesTopic } from '../../gateway/broker/topic-filter.js';
import { parseConfigText } from '../../gateway/config/load.js';
import type { GatewayConfigInput } from '../../gateway/config/schema.js';
import { Gateway, gatewayConfigSchema } from '../../gateway/controller.js';
import { type Logger, silentLogger } from '../../gateway/logger.js';

export interface TestGateway {
  gateway: Gateway;
  baseTopic: string;
  mqttUrl: string;
  httpUrl: string;
  dataDir: string;
  configPath: string;
  connect(opts?: mqtt.IClientOptions): Promise<MqttClient>;
  waitForMessage<T = unknown>(
    client: MqttClient,
    topic: string,
    predicate?: (payload: T, topic: string) => boolean,
    timeoutMs?: number,
  ): Promise<T>;
  /** Like waitForMessage, but resolves once the subscription is active: trigger the message after awaiting it. */
  expectMessage<T = unknown>(
    client: MqttClient,
    topic: string,
    predicate?: (payload: T, topic: string) => boolean,
    timeoutMs?: number,
  ): Promise<{ message: Promise<T> }>;
  request(client: MqttClient, name: string, data?: unknown, timeoutMs?: number): Promise<ResponsePayload>;
  stop(): Promise<void>;
}

export interface ResponsePayload {
  status: 'ok' | 'error';
  data: unknown;
  error?: string;
  transaction?: unknown;
}

type Overrides = Omit<Partial<GatewayConfigInput>, 'devices'> & {
  /** Entries of any transport, including those of extra adapter modules. */
  devices?: ReadonlyArray<Record<string, unknown>>;
} & Record<string, unknown>;

export interface TestGatewayOptions {
  /** Extra adapter modules (e.g. createTestAdapterModule().module); they are enabled unless configured off. */
  adapterModules?: readonly AdapterModule<unknown>[];
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

/** Built-in adapters are disabled unless the test enables them, so each test runs only what it exercises. */
export async function startTestGateway(
  overrides: Overrides = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'z2m-test-'));
  const input = {
    gateway: {
      id: 'test-gw',
      base_topic: 'zephyr2mqtt',
      data_dir: join(dataDir, 'data'),
      ...(overrides.gateway ?? {}),
    },
    broker: {
      listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }],
      allow_anonymous: true,
      ...(overrides.broker ?? {}),
    },
    http: { host: '127.0.0.1', port: 0, ...(overrides.http ?? {}) },
    adapters: {
      coap: { enabled: false },
      serial: { enabled: false },
      ble: { enabled: false },
      ...(overrides.adapters ?? {}),
    },
    ...Object.fromEntries(
      Object.entries(overrides).filter(([k]) => !['gateway', 'broker', 'http', 'adapters'].includes(k)),
    ),
  };
  const configPath = join(dataDir, 'gateway.yaml');
  const text = stringify(input);
  await writeFile(configPath, text);
  const gatewayOptions = {
    logger: options.logger ?? silentLogger(),
    configPath,
    adapterModules: options.adapterModules,
    env: options.env ?? process.env,
  };
  const config = parseConfigText(text, configPath, gatewayOptions.env, {
    schema: gatewayConfigSchema(options.adapterModules),
  });
  const gateway = new Gateway(config, gatewayOptions);
  try {
    await gateway.start();
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const mqttAddr = gateway.broker.addresses().find((a) => a.type === 'mqtt');
  if (!mqttAddr) throw new Error('test gateway has no plain MQTT listener');
  const http = gateway.httpAddress;
  const clients: MqttClient[] = [];
  const mqttUrl = `mqtt://127.0.0.1:${mqttAddr.port}`;

  const tg: TestGateway = {
    gateway,
    baseTopic: config.gateway.base_topic,
    mqttUrl,
    httpUrl: http ? `http://127.0.0.1:${http.port}` : '',
    dataDir: config.gateway.data_dir,
    configPath,
    async connect(opts = {}) {
      const client = await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0, ...opts });
      clients.push(client);
      return client;
    },
    waitForMessage<T>(
      client: MqttClient,
      topic: string,
      predicate: (payload: T, topic: string) => boolean = () => true,
      timeoutMs = 5000,
    ): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (t: string, buf: Buffer) => {
          if (!filterMatchesTopic(topic, t)) return;
          let payload: unknown = buf.toString('utf8');
          try {
            payload = JSON.parse(buf.toString('utf8'));
          } catch {
            // not JSON: hand over the string
          }
          if (predicate(payload as T, t)) {
            cleanup();
            resolve(payload as T);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching message on ${topic} within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          client.off('message', onMessage);
        };
        client.on('message', onMessage);
        client.subscribe(topic, { qos: 1 }, (err) => {
          if (err) {
            cleanup();
            reject(err);
          }
        });
      });
    },
    async expectMessage<T>(
      client: MqttClient,
      topic: string,
      predicate?: (payload: T, topic: string) => boolean,
      timeoutMs?: number,
    ) {
      const message = tg.waitForMessage<T>(client, topic, predicate, timeoutMs);
      message.catch(() => {}); // observed by the caller; avoid an unhandled rejection if the subscribe fails
      await client.subscribeAsync(topic, { qos: 1 });
      return { message };
    },
    async request(client, name, data = {}, timeoutMs = 5000) {
      const transaction = `t${Math.random().toString(36).slice(2)}`;
      const body = typeof data === 'object' && data !== null && !Array.isArray(data) ? { ...data, transaction } : data;
      const wait = tg.waitForMessage<ResponsePayload>(
        client,
        `${tg.baseTopic}/bridge/response/${name}`,
        (p) => typeof body !== 'object' || p.transaction === transaction,
        timeoutMs,
      );
      // Subscribe before publishing so the response cannot be missed.
      await client.subscribeAsync(`${tg.baseTopic}/bridge/response/${name}`, { qos: 1 });
      await client.publishAsync(`${tg.baseTopic}/bridge/request/${name}`, JSON.stringify(body));
      return wait;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
      await gateway.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return tg;
}
