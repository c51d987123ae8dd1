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

async function main(): Promise<void> {
  const n = arg('clients', 1000);
  const windowS = arg('window', 60);
  const intervalS = arg('interval', 10);
  let telemetry = 0;
  let decodeErrors = 0;
  const devices: DeviceConfigOf[] = Array.from({ length: n }, (_, i) => ({
    id: `bench-${i}`,
    transport: 'coap',
    lwm2m: { endpoint: `bench-${i}` },
  }));
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
  const endpoint = new UdpCoapEndpoint({ bindAddress: '127.0.0.1', port: 0, maxObservations: 4 * n });
  await endpoint.start();
  const server = createLwm2mServer({ endpoint, ctx, config: lwm2mServerConfigSchema.parse({}) });
  await server.start();

  const proc = fork(
    fileURLToPath(import.meta.url),
    ['--child', '--port', String(endpoint.port), '--clients', String(n)],
    {
      execArgv: ['--import', 'tsx'],
    },
  );
  await next(proc, 'ready', 60_000);
  const rssBefore = process.memoryUsage().rss;
  const heapBefore = liveHeap();
  proc.send({ type: 'register' });
  const reg = await next(proc, 'registered', 120_000);
  const registered = (server.status().registrations as number) ?? 0;
  // Wait (bounded) until the server's observations are in place before measuring the steady state.
  const deadline = Date.now() + 30_000;
  while ((server.status().observations as number) < 2 * n && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
  }
  const observations = server.status().observations as number;
  telemetry = 0;
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
  await server.stop();
  await endpoint.stop();

  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  const cpuPct = ((cpu.user + cpu.system) / 1000 / wallMs) * 100;
  console.log(
    `LwM2M server, ${n} simulated Zephyr clients (SenML JSON), notify every ${intervalS} s for ${windowS} s\n`,
  );
  console.log('| Metric | Value | Target |');
  console.log('|---|---|---|');
  console.log(
    `| Registration storm: registered / failed | ${reg.ok} / ${reg.failed} (server holds ${registered}) | no loss |`,
  );
  console.log(`| Registration storm: time to all 2.01 | ${reg.ms.toFixed(0)} ms | |`);
  console.log(`| Observations established | ${observations} / ${2 * n} | |`);
  console.log(`| Notifications sent / telemetry reports | ${notified.sent} / ${telemetry} | equal |`);
  console.log(`| Server CPU during notify window | ${cpuPct.toFixed(1)} % of one core | < 10 % |`);
  console.log(
    `| Server RSS (before storm / max in window / growth) | ${mb(rssBefore)} / ${mb(rssMax)} / ${mb(rssMax - rssBefore)} MB | < 120 MB |`,
  );
  console.log(
    `| Live heap after GC (before storm / after window / per client) | ${mb(heapBefore)} / ${mb(heapAfter)} MB / ${((heapAfter - heapBefore) / n / 1024).toFixed(1)} KiB | |`,
  );
  console.log(`| Decode errors | ${decodeErrors} | 0 |`);
}

if (process.argv.includes('--child')) await child();
else await main();
