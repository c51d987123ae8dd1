// LwM2M server load: a registration storm of N simulated Zephyr clients at once, then every client notifying its
// temperature every `interval` seconds for a window. The server (real CoAP UDP transport + LwM2M server) runs in
// this process and is measured here (CPU % of one core, RSS); the clients run in a child process.
//   npx tsx bench/lwm2m.ts [--clients 1000] [--window 60] [--interval 10]
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { lwm2mServerConfigSchema } from '../adapters/coap/lwm2m/config.js';
import { createLwm2mServer } from '../adapters/coap/lwm2m/index.js';
import { UdpCoapEndpoint } from '../adapters/coap/transport/udp-endpoint.js';
import type { AdapterContext, DeviceConfigOf } from '../gateway/adapter.js';
import { silentLogger } from '../gateway/logger.js';

type Msg =
  | { type: 'registered'; ok: number; failed: number; ms: number }
  | { type: 'notified'; sent: number }
  | { type: 'ready' };

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

async function child(): Promise<void> {
  const { SimLwm2mClient } = await import('../test/sim/lwm2m/zephyr-client.js');
  const port = arg('port', 0);
  const n = arg('clients', 1000);
  const clients = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = new SimLwm2mClient({ server: { address: '127.0.0.1', port }, endpoint: `bench-${i}`, lifetime: 600 });
      await c.start();
      return c;
    }),
  );
  const send = (m: Msg) => process.send?.(m);
  process.on('message', async (m: { type: string; window?: number; interval?: number }) => {
    if (m.type === 'register') {
      const t0 = performance.now();
      const results = await Promise.allSettled(clients.map((c) => c.register()));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      send({ type: 'registered', ok, failed: n - ok, ms: performance.now() - t0 });
    } else if (m.type === 'notify') {
      const windowMs = (m.window ?? 60) * 1000;
      const intervalMs = (m.interval ?? 10) * 1000;
      let sent = 0;
      const timers: NodeJS.Timeout[] = [];
      clients.forEach((c, i) => {
        const start = setTimeout(
          () => {
            const tick = () => {
              c.setValue('/3303/0/5700', 20 + Math.round(Math.random() * 500) / 100);
              sent++;
            };
            tick();
            timers.push(setInterval(tick, intervalMs));
          },
          (i / n) * intervalMs,
        );
        timers.push(start);
      });
      setTimeout(() => {
        for (const t of timers) clearTimeout(t);
        send({ type: 'notified', sent });
      }, windowMs);
    } else if (m.type === 'stop') {
      await Promise.all(clients.map((c) => c.stop()));
      process.exit(0);
    }
  });
  send({ type: 'ready' });
}

function next<T extends Msg['type']>(
  proc: ChildProcess,
  type: T,
  timeoutMs: number,
): Promise<Extract<Msg, { type: T }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bench child: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
    const on = (m: Msg) => {
      if (m.type !== type) return;
      clearTimeout(timer);
      proc.off('message', on);
      resolve(m as Extract<Msg, { type: T }>);
    };
    proc.on('message', on);
  });
}

// Live heap after a full collection separates retained state from garbage that RSS still counts.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;
const liveHeap = (): number => {
  collect();
  return process.memoryUsage().heapUsed;
};

interface Target {
  port: number;
  status(): Record<string, unknown>;
  telemetry(): number;
  decodeErrors(): number;
  stop(): Promise<void>;
}

/** The LwM2M server and the CoAP transport alone, with a counting context. */
async function serverOnly(devices: DeviceConfigOf[]): Promise<Target> {
  let telemetry = 0;
  let decodeErrors = 0;
  const ctx: AdapterContext = {
    kind: 'coap',
    logger: silentLogger(),
    dataDir: '/nonexistent',
    devices: () => devices,
    permitJoin: () => false,
    telemetry: () => {
      telemetry++;
    },
    availability: () => {},
    deviceInfo: () => {},
    deviceSeen: () => {},
    publish: () => {},
    decodeError: () => {
      decodeErrors++;
    },
    countMessage: () => {},
  };
  const endpoint = new UdpCoapEndpoint({ bindAddress: '127.0.0.1', port: 0, maxObservations: 4 * devices.length });
  await endpoint.start();
  const server = createLwm2mServer({ endpoint, ctx, config: lwm2mServerConfigSchema.parse({}) });
  await server.start();
  return {
    port: endpoint.port,
    status: () => server.status(),
    telemetry: () => telemetry,
    decodeErrors: () => decodeErrors,
    async stop() {
      await server.stop();
      await endpoint.stop();
    },
  };
}

/** The whole gateway in this process: CoAP adapter, LwM2M server, core state, aedes, one MQTT subscriber. */
async function wholeGateway(devices: DeviceConfigOf[]): Promise<Target> {
  const { startTestGateway } = await import('../test/helpers/gateway.js');
  const gw = await startTestGateway({
    devices,
    adapters: { coap: { enabled: true, bind: '127.0.0.1', port: 0 } },
  } as never);
  const first = devices[0]?.id ?? '';
  const adapter = gw.gateway.adapterFor(first).host.adapter as unknown as {
    endpoint: { port: number };
    status(): { details?: Record<string, unknown> };
  };
  const mqtt = await gw.connect();
  let telemetry = 0;
  mqtt.on('message', (topic) => {
    if (!topic.includes('/', gw.baseTopic.length + 1)) telemetry++;
  });
  await mqtt.subscribeAsync(`${gw.baseTopic}/+`, { qos: 0 });
  return {
    port: adapter.endpoint.port,
    status: () => (adapter.status().details?.lwm2m ?? {}) as Record<string, unknown>,
    telemetry: () => telemetry,
    decodeErrors: () => 0,
    stop: () => gw.stop(),
  };
}

interface Result {
  registered: number;
  failed: number;
  held: number;
  stormMs: number;
  observations: number;
  sent: number;
  telemetry: number;
  cpuPct: number;
  rssBefore: number;
  rssMax: number;
  heapBefore: number;
  heapAfter: number;
  decodeErrors: number;
}

async function scenario(kind: 'server' | 'gateway', n: number, windowS: number, intervalS: number): Promise<Result> {
  const devices: DeviceConfigOf[] = Array.from({ length: n }, (_, i) => ({
    id: `bench-${i}`,
    transport: 'coap',
    lwm2m: { endpoint: `bench-${i}` },
  }));
  const t = kind === 'server' ? await serverOnly(devices) : await wholeGateway(devices);
  const proc = fork(fileURLToPath(import.meta.url), ['--child', '--port', String(t.port), '--clients', String(n)], {
    execArgv: ['--import', 'tsx'],
  });
  await next(proc, 'ready', 60_000);
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = liveHeap();
  proc.send({ type: 'register' });
  const reg = await next(proc, 'registered', 180_000);
  const held = Number(t.status().registrations ?? 0);
  // Wait (bounded) until the server's observations are in place before measuring the steady state.
  const deadline = Date.now() + 30_000;
  while (Number(t.status().observations ?? 0) < 2 * n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const observations = Number(t.status().observations ?? 0);
  await new Promise((r) => setTimeout(r, 1000)); // initial state publications settle
  const telemetry0 = t.telemetry();
  let rssMax = 0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }, 500);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  proc.send({ type: 'notify', window: windowS, interval: intervalS });
  const notified = await next(proc, 'notified', (windowS + 60) * 1000);
  await new Promise((r) => setTimeout(r, 500)); // let the last notifications in flight arrive
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  clearInterval(sampler);
  const heapAfter = liveHeap();
  proc.send({ type: 'stop' });
  await new Promise((r) => proc.once('exit', r));
  const result: Result = {
    registered: reg.ok,
    failed: reg.failed,
    held,
    stormMs: reg.ms,
    observations,
    sent: notified.sent,
    telemetry: t.telemetry() - telemetry0,
    cpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    rssBefore,
    rssMax,
    heapBefore,
    heapAfter,
    decodeErrors: t.decodeErrors(),
  };
  await t.stop();
  return result;
}

async function main(): Promise<void> {
  const n = arg('clients', 1000);
  const windowS = arg('window', 60);
  const intervalS = arg('interval', 10);
  const server = await isolated('server', n, windowS, intervalS);
  const gateway = await isolated('gateway', n, windowS, intervalS);
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  const row = (label: string, f: (r: Result) => string, target = '') =>
    console.log(`| ${label} | ${f(server)} | ${f(gateway)} | ${target} |`);
  console.log(
    `LwM2M: ${n} simulated Zephyr clients (SenML JSON, 2 observations each), one notification every ${intervalS} s per client for ${windowS} s\n`,
  );
  console.log('| Metric | LwM2M server + CoAP transport | Whole gateway (+ core, aedes, 1 subscriber) | Target |');
  console.log('|---|---|---|---|');
  row('Registration storm: 2.01 received / failed', (r) => `${r.registered} / ${r.failed}`, 'no loss');
  row('Registrations held by the server', (r) => String(r.held), String(n));
  row('Registration storm: time to the last 2.01', (r) => `${r.stormMs.toFixed(0)} ms`);
  row('Observations established', (r) => `${r.observations} / ${2 * n}`);
  row('Notifications sent / state updates seen', (r) => `${r.sent} / ${r.telemetry}`, 'equal');
  row('CPU during the notify window', (r) => `${r.cpuPct.toFixed(1)} % of one core`, '< 10 %');
  row('RSS before storm / max in window', (r) => `${mb(r.rssBefore)} / ${mb(r.rssMax)} MB`, '< 120 MB');
  row(
    'Live heap after GC: before / after / per client',
    (r) => `${mb(r.heapBefore)} / ${mb(r.heapAfter)} MB / ${((r.heapAfter - r.heapBefore) / n / 1024).toFixed(1)} KiB`,
  );
  row('Decode errors', (r) => String(r.decodeErrors), '0');
}

/** Each scenario in a fresh process, so its RSS is not inflated by the one before. */
function isolated(kind: 'server' | 'gateway', n: number, windowS: number, intervalS: number): Promise<Result> {
  const args = [
    '--scenario',
    kind,
    '--clients',
    String(n),
    '--window',
    String(windowS),
    '--interval',
    String(intervalS),
  ];
  const proc = fork(fileURLToPath(import.meta.url), args, { execArgv: ['--import', 'tsx'] });
  return new Promise((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Result));
    proc.once('exit', (code) => reject(new Error(`bench scenario ${kind} exited with ${code} before reporting`)));
  });
}

async function runScenario(): Promise<void> {
  const kind = process.argv.includes('gateway') ? 'gateway' : 'server';
  const result = await scenario(kind, arg('clients', 1000), arg('window', 60), arg('interval', 10));
  process.send?.(result);
  process.exit(0);
}

if (process.argv.includes('--child')) await child();
else if (process.argv.includes('--scenario')) await runScenario();
else await main();
