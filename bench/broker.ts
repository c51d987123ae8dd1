// Broker throughput: the gateway's embedded broker (password auth, ACL rules with %u, persistence on, packet
// size guard) against bare aedes (no hooks, memory persistence) in the same run. One publisher and one
// subscriber (mqtt.js, in this process) on loopback TCP; 100-byte payloads; QoS 0 and QoS 1.
// Usage: npx tsx bench/broker.ts [--messages N] [--rounds R]
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import mqtt, { type IClientOptions } from 'mqtt';
import { pino } from 'pino';
import { startBroker } from '../gateway/broker/broker.js';
import { hashPassword } from '../gateway/broker/password.js';
import { brokerConfigSchema } from '../gateway/config/schema.js';

const { values } = parseArgs({
  options: { messages: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '3' } },
});
const MESSAGES = Number(values.messages);
const ROUNDS = Number(values.rounds);
const PAYLOAD = Buffer.alloc(100, 0x61);

interface Target {
  name: string;
  port: number;
  auth: IClientOptions;
  topic: string;
  close(): Promise<void>;
}

async function bareAedes(): Promise<Target> {
  const aedes = await Aedes.createBroker();
  const server: Server = createServer(aedes.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    name: 'bare aedes',
    port: (server.address() as { port: number }).port,
    auth: {},
    topic: 'bench/bench/t',
    async close() {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function gatewayBroker(): Promise<Target> {
  const dataDir = await mkdtemp(join(tmpdir(), 'z2m-bench-broker-'));
  const config = brokerConfigSchema.parse({
    listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }],
    allow_anonymous: false,
    users: [
      {
        username: 'bench',
        password_hash: await hashPassword('bench-pw'),
        acl: [
          { allow: 'subscribe', topic: 'zephyr2mqtt/#' },
          { allow: 'publish', topic: 'zephyr2mqtt/+/set' },
          { allow: 'both', topic: 'bench/%u/#' },
        ],
      },
    ],
    persistence: true,
  });
  const broker = await startBroker({ config, logger: pino({ level: 'silent' }), dataDir });
  return {
    name: 'zephyr2mqtt broker (auth + ACL + persistence)',
    port: broker.addresses()[0]?.port ?? 0,
    auth: { username: 'bench', password: 'bench-pw' },
    topic: 'bench/bench/t',
    async close() {
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

interface Sample {
  /** Messages per second from the first publish to the last message received by the subscriber. */
  rate: number;
  /** Process CPU time (user + system) per message: broker and both clients, robust to other load on the box. */
  cpuUs: number;
}

async function measure(target: Target, qos: 0 | 1, messages: number): Promise<Sample> {
  const url = `mqtt://127.0.0.1:${target.port}`;
  const opts = { ...target.auth, reconnectPeriod: 0 };
  const sub = await mqtt.connectAsync(url, opts);
  const pub = await mqtt.connectAsync(url, opts);
  await sub.subscribeAsync(target.topic, { qos });
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received}/${messages} received`)), 120_000);
    sub.on('message', () => {
      if (++received === messages) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < messages; i++) pub.publish(target.topic, PAYLOAD, { qos });
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all([sub.endAsync(), pub.endAsync()]);
  return { rate: messages / seconds, cpuUs: (cpu.user + cpu.system) / messages };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

async function once(make: () => Promise<Target>, qos: 0 | 1, messages: number): Promise<Sample> {
  const target = await make();
  try {
    return await measure(target, qos, messages);
  } finally {
    await target.close();
  }
}

// Warm-up (JIT, socket paths) for both, discarded.
for (const make of [bareAedes, gatewayBroker]) for (const qos of [0, 1] as const) await once(make, qos, MESSAGES / 4);

const results: Array<{ qos: 0 | 1; bare: Sample; ours: Sample }> = [];
for (const qos of [0, 1] as const) {
  const bare: Sample[] = [];
  const ours: Sample[] = [];
  // Alternate the two brokers so drift on a shared machine hits both alike.
  for (let round = 0; round < ROUNDS; round++) {
    for (const make of round % 2 === 0 ? [bareAedes, gatewayBroker] : [gatewayBroker, bareAedes]) {
      (make === bareAedes ? bare : ours).push(await once(make, qos, MESSAGES));
    }
  }
  const summary = (xs: Sample[]): Sample => ({
    rate: median(xs.map((x) => x.rate)),
    cpuUs: median(xs.map((x) => x.cpuUs)),
  });
  results.push({ qos, bare: summary(bare), ours: summary(ours) });
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`Broker throughput, ${MESSAGES} messages of ${PAYLOAD.length} B per run, median of ${ROUNDS} runs`);
console.log(`Machine: ${cpus().length} CPUs, ${cpu}, Node ${process.version}\n`);
console.log(
  '| QoS | bare aedes msg/s | ours msg/s | throughput overhead | bare aedes CPU µs/msg | ours CPU µs/msg | CPU overhead |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const tput = ((r.bare.rate - r.ours.rate) / r.bare.rate) * 100;
  const cpu = ((r.ours.cpuUs - r.bare.cpuUs) / r.bare.cpuUs) * 100;
  console.log(
    `| ${r.qos} | ${Math.round(r.bare.rate)} | ${Math.round(r.ours.rate)} | ${tput.toFixed(1)} % | ` +
      `${r.bare.cpuUs.toFixed(1)} | ${r.ours.cpuUs.toFixed(1)} | ${cpu.toFixed(1)} % |`,
  );
}
console.log('\nOverhead: positive means the gateway broker is slower / uses more CPU than bare aedes.');
