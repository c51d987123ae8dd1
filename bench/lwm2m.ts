// LwM2M server load: a registration storm of N simulated Zephyr clients at once, then every client notifying its
// temperature every `interval` seconds for a window. Everything measured runs compiled (tsc to a temp dir, as
// `npm run build` does), each in its own process: the measured process holds the LwM2M server and nothing of the
// clients, which run in a second process; this script (tsx or not) only orchestrates and counts.
//   npx tsx bench/lwm2m.ts [--clients 1000] [--window 60] [--interval 10] [--snapshots <dir>] [--only server|gateway]
//   [--node-flags "<flags for the measured process>"] [--cpu-profile <dir>]
// Scenarios: "server" is the LwM2M server on the real CoAP UDP transport with a counting context; "gateway" is
// `zephyr2mqtt run` (dist/gateway/cli.js) with N LwM2M devices in its config, its defaults otherwise (dashboard on,
// log level info), and one MQTT subscriber on `<base>/+` in this process. --snapshots writes a heap snapshot of the
// measured process before the storm and after the window (heap per registered client); --cpu-profile writes a CPU
// profile of the measured process over the notify window (<dir>/<scenario>-window.cpuprofile; the profiler's own
// cost is then in the CPU figure).
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileForBench } from './_compiled.js';
import { coapBenchConfig } from './_gateway-config.js';
import type { ProbeReply, ProbeRequest } from './_lwm2m-probe.js';

type ClientMsg =
  | { type: 'registered'; ok: number; failed: number; ms: number }
  | { type: 'notified'; sent: number }
  | { type: 'ready' };

interface ServeStatus {
  type: 'status';
  lwm2m: Record<string, unknown>;
  telemetry: number;
  decodeErrors: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

function argText(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Extra node flags for the measured process: `--node-flags "--max-semi-space-size=1"`. */
const nodeFlags = (): string[] => (argText('node-flags') ?? '').split(/\s+/).filter((f) => f !== '');

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the simulated clients (own process) ----------------------------------------------------------------------

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
  const send = (m: ClientMsg) => process.send?.(m);
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

// ---- the "server" scenario's measured process: LwM2M server + CoAP transport only -----------------------------

async function serve(): Promise<void> {
  const { installProbe } = await import('./_lwm2m-probe.js');
  const { lwm2mServerConfigSchema } = await import('../adapters/coap/lwm2m/config.js');
  const { createLwm2mServer } = await import('../adapters/coap/lwm2m/index.js');
  const { UdpCoapEndpoint } = await import('../adapters/coap/transport/udp-endpoint.js');
  const { countingContext } = await import('./_counting-context.js');
  type DeviceConfigOf = import('../gateway/adapter.js').DeviceConfigOf;
  installProbe();
  const n = arg('clients', 1000);
  const devices: DeviceConfigOf[] = Array.from({ length: n }, (_, i) => ({
    id: `bench-${i}`,
    transport: 'coap',
    lwm2m: { endpoint: `bench-${i}` },
  }));
  const { ctx, counts } = countingContext('coap', '/nonexistent', () => devices);
  // As the CoAP adapter sizes it from lwm2m.max_registrations.
  const endpoint = new UdpCoapEndpoint({ bindAddress: '127.0.0.1', port: 0, maxObservations: 4 * n });
  await endpoint.start();
  const server = createLwm2mServer({ endpoint, ctx, config: lwm2mServerConfigSchema.parse({}) });
  await server.start();
  process.on('message', async (m: { type?: string }) => {
    if (m.type === 'status') {
      process.send?.({ type: 'status', lwm2m: server.status(), ...counts } satisfies ServeStatus);
    } else if (m.type === 'stop') {
      await server.stop();
      await endpoint.stop();
      process.exit(0);
    }
  });
  process.send?.({ type: 'listening', port: endpoint.port });
}

// ---- orchestration --------------------------------------------------------------------------------------------

function next<T>(proc: ChildProcess, match: (m: unknown) => m is T, what: string, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.off('message', on);
      reject(new Error(`bench: no ${what} within ${timeoutMs} ms`));
    }, timeoutMs);
    const on = (m: unknown) => {
      if (!match(m)) return;
      clearTimeout(timer);
      proc.off('message', on);
      resolve(m);
    };
    proc.on('message', on);
  });
}

const isType =
  <T>(type: string) =>
  (m: unknown): m is T =>
    typeof m === 'object' && m !== null && (m as { type?: unknown }).type === type;
const isProbe =
  <K extends ProbeReply['probe']>(probe: K) =>
  (m: unknown): m is Extract<ProbeReply, { probe: K }> =>
    typeof m === 'object' && m !== null && (m as { probe?: unknown }).probe === probe;

async function probe<K extends ProbeRequest['probe']>(
  proc: ChildProcess,
  req: Extract<ProbeRequest, { probe: K }>,
): Promise<Extract<ProbeReply, { probe: K }>> {
  const reply = next(proc, isProbe(req.probe as K), `probe ${req.probe} reply`, 120_000);
  proc.send(req);
  return reply as Promise<Extract<ProbeReply, { probe: K }>>;
}

function procKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
}

interface Target {
  proc: ChildProcess;
  coapPort: number;
  lwm2m(): Promise<Record<string, unknown>>;
  telemetry(): Promise<number>;
  decodeErrors(): Promise<number | undefined>;
  /** Retained messages in the broker, counted by a fresh subscriber (gateway only). */
  retained(): Promise<RetainedCount | undefined>;
  stop(): Promise<void>;
}

interface RetainedCount {
  count: number;
  bytes: number;
  state: number;
  raw: number;
  bridgeDevicesBytes: number;
}

async function startServer(build: string, n: number): Promise<Target> {
  const proc = fork(join(build, 'bench/lwm2m.js'), ['--serve', '--clients', String(n)], {
    execArgv: ['--expose-gc', ...nodeFlags()],
  });
  const { port } = await next(proc, isType<{ port: number }>('listening'), 'server listening', 60_000);
  const status = async () => {
    const reply = next(proc, isType<ServeStatus>('status'), 'server status', 30_000);
    proc.send({ type: 'status' });
    return reply;
  };
  return {
    proc,
    coapPort: port,
    lwm2m: async () => (await status()).lwm2m,
    telemetry: async () => (await status()).telemetry,
    decodeErrors: async () => (await status()).decodeErrors,
    retained: async () => undefined,
    async stop() {
      proc.send({ type: 'stop' });
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function gatewayConfig(dir: string, n: number): string {
  const devices = Array.from(
    { length: n },
    (_, i) => `{ id: bench-${i}, transport: coap, lwm2m: { endpoint: bench-${i} } }`,
  );
  return coapBenchConfig(dir, devices);
}

async function startGateway(build: string, n: number, dir: string): Promise<Target> {
  const { default: mqtt } = await import('mqtt');
  const configPath = join(dir, 'gateway.yaml');
  writeFileSync(configPath, gatewayConfig(dir, n));
  const proc = fork(join(build, 'bench/_lwm2m-gateway.js'), ['run', '--config', configPath], {
    execArgv: ['--expose-gc', ...nodeFlags()],
    env: { ...process.env, LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let out = '';
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway: no HTTP listener:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const port = /"port":(\d+)[^\n]*"msg":"HTTP listener up"/.exec(out)?.[1];
      if (!port) return;
      clearTimeout(timer);
      out = '';
      proc.stdout?.off('data', onData);
      proc.stdout?.resume(); // the per-registration info lines are read and dropped
      resolve(Number(port));
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${out}`)));
  });
  const base = `http://127.0.0.1:${httpPort}`;
  let ready: { adapters?: { coap?: { details?: { port?: number; lwm2m?: Record<string, unknown> } } } } = {};
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${base}/readyz`).catch(() => undefined);
    if (res?.ok) {
      ready = (await res.json()) as typeof ready;
      break;
    }
    await delay(100);
  }
  const coapPort = ready.adapters?.coap?.details?.port;
  if (!coapPort) throw new Error(`gateway: not ready or no CoAP port: ${JSON.stringify(ready)}`);
  const health = (await (await fetch(`${base}/healthz`)).json()) as { listeners: Array<{ port: number }> };
  const mqttUrl = `mqtt://127.0.0.1:${health.listeners[0]?.port}`;
  const subscriber = await mqtt.connectAsync(mqttUrl);
  let telemetry = 0;
  subscriber.on('message', (topic) => {
    if (topic.startsWith('zephyr2mqtt/bench-')) telemetry++;
  });
  await subscriber.subscribeAsync('zephyr2mqtt/+', { qos: 0 });
  return {
    proc,
    coapPort,
    async lwm2m() {
      const res = (await (await fetch(`${base}/readyz`)).json()) as typeof ready;
      return res.adapters?.coap?.details?.lwm2m ?? {};
    },
    telemetry: async () => telemetry,
    async decodeErrors() {
      const text = await (await fetch(`${base}/metrics`)).text();
      return [...text.matchAll(/^zephyr2mqtt_decode_errors_total\{[^}]*\} (\d+)/gm)].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
    },
    async retained() {
      const c = await mqtt.connectAsync(mqttUrl);
      const r: RetainedCount = { count: 0, bytes: 0, state: 0, raw: 0, bridgeDevicesBytes: 0 };
      let last = Date.now();
      c.on('message', (topic, payload, packet) => {
        if (!packet.retain) return;
        last = Date.now();
        r.count++;
        r.bytes += topic.length + payload.length;
        if (/^zephyr2mqtt\/bench-\d+$/.test(topic)) r.state++;
        else if (topic.includes('/lwm2m/')) r.raw++;
        else if (topic === 'zephyr2mqtt/bridge/devices') r.bridgeDevicesBytes = payload.length;
      });
      await c.subscribeAsync('#', { qos: 0 });
      // Retained messages arrive right after the SUBACK; stop after 1.5 s without one (at most 30 s).
      const deadline = Date.now() + 30_000;
      while (Date.now() - last < 1500 && Date.now() < deadline) await delay(250);
      await c.endAsync();
      return r;
    },
    async stop() {
      await subscriber.endAsync();
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
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
  cpuUsPerNotification: number;
  rssIdle: number;
  rssAfterStorm: number;
  rssMax: number;
  rssPeak: number;
  heapIdle: number;
  heapAfter: number;
  rssAfterGc: number;
  heapTotalAtStart: number;
  spacesAtStart: Record<string, number>;
  externalAtStart: number;
  heapTotalAfterGc: number;
  decodeErrors: number | undefined;
  retained: RetainedCount | undefined;
}

async function scenario(
  kind: 'server' | 'gateway',
  build: string,
  n: number,
  windowS: number,
  intervalS: number,
  snapshots: string | undefined,
  profiles: string | undefined,
): Promise<Result> {
  const dir = mkdtempSync(join(tmpdir(), 'z2m-bench-lwm2m-'));
  try {
    const t = kind === 'server' ? await startServer(build, n) : await startGateway(build, n, dir);
    const pid = t.proc.pid ?? 0;
    const clients = fork(
      join(build, 'bench/lwm2m.js'),
      ['--child', '--port', String(t.coapPort), '--clients', String(n)],
      {},
    );
    try {
      await next(clients, isType('ready'), 'clients ready', 60_000);
      await delay(2000); // start-up garbage settles before the idle figures
      const heapIdle = (await probe(t.proc, { probe: 'heap' })).memory.heapUsed;
      const rssIdle = procKb(pid, 'VmRSS') * 1024;
      if (snapshots) await probe(t.proc, { probe: 'snapshot', file: join(snapshots, `${kind}-0.heapsnapshot`) });
      clients.send({ type: 'register' });
      const reg = await next(
        clients,
        isType<Extract<ClientMsg, { type: 'registered' }>>('registered'),
        'storm',
        180_000,
      );
      const held = Number((await t.lwm2m()).registrations ?? 0);
      // Wait (bounded) until the observations are in place before measuring the steady state.
      const deadline = Date.now() + 60_000;
      let observations = 0;
      while (Date.now() < deadline) {
        observations = Number((await t.lwm2m()).observations ?? 0);
        if (observations >= 2 * n) break;
        await delay(250);
      }
      await delay(1000); // initial state publications settle
      const rssAfterStorm = procKb(pid, 'VmRSS') * 1024;
      const telemetry0 = await t.telemetry();
      let rssMax = 0;
      const sampler = setInterval(() => {
        rssMax = Math.max(rssMax, procKb(pid, 'VmRSS') * 1024);
      }, 500);
      if (profiles) await probe(t.proc, { probe: 'profile-start' });
      const atStart = await probe(t.proc, { probe: 'cpu' });
      const cpu0 = atStart.micros;
      const t0 = performance.now();
      clients.send({ type: 'notify', window: windowS, interval: intervalS });
      const notified = await next(
        clients,
        isType<Extract<ClientMsg, { type: 'notified' }>>('notified'),
        'notify window end',
        (windowS + 60) * 1000,
      );
      await delay(500); // the last notifications in flight arrive
      const cpu = (await probe(t.proc, { probe: 'cpu' })).micros - cpu0;
      const wallMs = performance.now() - t0;
      if (profiles) await probe(t.proc, { probe: 'profile-stop', file: join(profiles, `${kind}-window.cpuprofile`) });
      clearInterval(sampler);
      const telemetry = (await t.telemetry()) - telemetry0;
      const rssPeak = procKb(pid, 'VmHWM') * 1024;
      const afterGc = (await probe(t.proc, { probe: 'heap' })).memory;
      const heapAfter = afterGc.heapUsed;
      const rssAfterGc = procKb(pid, 'VmRSS') * 1024;
      if (snapshots) await probe(t.proc, { probe: 'snapshot', file: join(snapshots, `${kind}-${n}.heapsnapshot`) });
      const retained = await t.retained();
      const decodeErrors = await t.decodeErrors();
      clients.send({ type: 'stop' });
      await new Promise((r) => clients.once('exit', r));
      await t.stop();
      return {
        registered: reg.ok,
        failed: reg.failed,
        held,
        stormMs: reg.ms,
        observations,
        sent: notified.sent,
        telemetry,
        cpuPct: (cpu / 1000 / wallMs) * 100,
        cpuUsPerNotification: cpu / Math.max(1, notified.sent),
        rssIdle,
        rssAfterStorm,
        rssMax,
        rssPeak,
        heapIdle,
        heapAfter,
        rssAfterGc,
        heapTotalAtStart: atStart.memory.heapTotal,
        spacesAtStart: atStart.spaces,
        externalAtStart: atStart.memory.external,
        heapTotalAfterGc: afterGc.heapTotal,
        decodeErrors,
        retained,
      };
    } finally {
      if (clients.exitCode === null) clients.kill();
      if (t.proc.exitCode === null) t.proc.kill();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const n = arg('clients', 1000);
  const windowS = arg('window', 60);
  const intervalS = arg('interval', 10);
  const snapshots = argText('snapshots');
  if (snapshots) mkdirSync(snapshots, { recursive: true });
  const profiles = argText('cpu-profile');
  if (profiles) mkdirSync(profiles, { recursive: true });
  const compiled = compileForBench([
    'bench/lwm2m.ts',
    'bench/_lwm2m-*.ts',
    'bench/_gateway-config.ts',
    'bench/_counting-context.ts',
    'test/sim/lwm2m',
  ]);
  const build = compiled.out;
  try {
    const only = argText('only');
    const skipped = { skipped: true } as unknown as Result;
    const server =
      only === 'gateway' ? skipped : await scenario('server', build, n, windowS, intervalS, snapshots, profiles);
    const gateway =
      only === 'server' ? skipped : await scenario('gateway', build, n, windowS, intervalS, snapshots, profiles);
    const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
    const cell = (r: Result, f: (r: Result) => string) => ('skipped' in r ? 'not run' : f(r));
    const row = (label: string, f: (r: Result) => string, target = '') =>
      console.log(`| ${label} | ${cell(server, f)} | ${cell(gateway, f)} | ${target} |`);
    console.log(
      `LwM2M: ${n} simulated Zephyr clients (SenML JSON, 2 observations each), one notification every ${intervalS} s per client for ${windowS} s; compiled JS, measured process holds no clients${nodeFlags().length ? `; node ${nodeFlags().join(' ')}` : ''}\n`,
    );
    console.log('| Metric | LwM2M server + CoAP transport | Whole gateway (`zephyr2mqtt run`) | Target |');
    console.log('|---|---|---|---|');
    row('Registration storm: 2.01 received / failed', (r) => `${r.registered} / ${r.failed}`, 'no loss');
    row('Registrations held by the server', (r) => String(r.held), String(n));
    row('Registration storm: time to the last 2.01', (r) => `${r.stormMs.toFixed(0)} ms`);
    row('Observations established', (r) => `${r.observations} / ${2 * n}`);
    row('Notifications sent / state updates seen', (r) => `${r.sent} / ${r.telemetry}`, 'equal');
    row(
      'CPU during the notify window',
      (r) => `${r.cpuPct.toFixed(1)} % of one core (${r.cpuUsPerNotification.toFixed(0)} µs/notification)`,
      '< 10 %',
    );
    row(
      'RSS idle / after storm / max in window / peak (VmHWM)',
      (r) => `${mb(r.rssIdle)} / ${mb(r.rssAfterStorm)} / ${mb(r.rssMax)} / ${mb(r.rssPeak)} MB`,
      '< 120 MB',
    );
    row(
      'Live heap after GC: idle / after / per client',
      (r) => `${mb(r.heapIdle)} / ${mb(r.heapAfter)} MB / ${((r.heapAfter - r.heapIdle) / n / 1024).toFixed(1)} KiB`,
    );
    row(
      'V8 heap total / external at window start; heap total and RSS after the final GC',
      (r) =>
        `${mb(r.heapTotalAtStart)} / ${mb(r.externalAtStart)} MB; ${mb(r.heapTotalAfterGc)} / ${mb(r.rssAfterGc)} MB`,
    );
    row('V8 spaces at window start (MB)', (r) =>
      Object.entries(r.spacesAtStart)
        .filter(([, v]) => v >= 1024 * 1024)
        .map(([k, v]) => `${k.replace('_space', '')} ${mb(v)}`)
        .join(', '),
    );
    row('Retained messages: count / bytes (state, raw paths)', (r) =>
      r.retained
        ? `${r.retained.count} / ${(r.retained.bytes / 1024).toFixed(0)} KiB (${r.retained.state}, ${r.retained.raw})`
        : 'n/a',
    );
    row('bridge/devices payload', (r) =>
      r.retained ? `${(r.retained.bridgeDevicesBytes / 1024).toFixed(0)} KiB` : 'n/a',
    );
    row('Decode errors', (r) => String(r.decodeErrors ?? 'n/a'), '0');
  } finally {
    compiled.remove();
  }
}

if (process.argv.includes('--child')) await child();
else if (process.argv.includes('--serve')) await serve();
else await main();
