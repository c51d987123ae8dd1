// Core footprint: idle RSS with 100 configured devices and the time from process start to /readyz ok,
// for the compiled gateway (node dist/gateway/cli.js run), beside a bare aedes broker process as the baseline.
// The first gateway row is what ships: `zephyr2mqtt run` holds V8's young generation at its initial size while
// it loads and starts (gateway/runtime/young-generation.ts). The second row turns that off
// (ZEPHYR2MQTT_HEAP_TUNING=off), i.e. plain V8 defaults, for comparison.
// Idle RSS is read twice: 5 s after ready, and once settled (CORE_BENCH_SETTLED_S after spawn, default 60 s): V8's
// memory reducer compacts the heap and hands pages back ~8 s after start-up's last full collection, and the
// young generation's pages are touched again afterwards as the idle gateway allocates. The processes of one run
// start one after the other (start-up times are not disturbed) and then wait for the settled reading together.
// Usage: npx tsx bench/core.ts [runs=3]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coapBenchConfig } from './_gateway-config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.argv[2] ?? 3);
const DEVICES = 100;
const IDLE_MS = 5000;
const SETTLED_MS = Number(process.env.CORE_BENCH_SETTLED_S ?? 60) * 1000;
const START_TIMEOUT_MS = 30_000;
/** V8's defaults: the young generation grows to 2 x 16 MB during start-up and an idle gateway keeps it. */
const TUNING_OFF = { ZEPHYR2MQTT_HEAP_TUNING: 'off' };

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

function config(dir: string): string {
  const devices = Array.from(
    { length: DEVICES },
    (_, i) => `{ id: dev-${i}, name: "Device ${i}", transport: coap, token: bench-token-${i} }`,
  );
  return coapBenchConfig(dir, devices, { logLevel: 'info', dashboard: false });
}

interface Sample {
  readyMs: number;
  startMs: number;
  rss: number;
  /** RSS at SETTLED_MS after spawn. */
  rssSettled?: number;
  /** V8's young generation (both semi-spaces) at the RSS reading, from the gateway's own /metrics. */
  newSpaceMb?: number;
}

/** A measured process, still running after its 5 s reading until settle() takes the settled one and stops it. */
interface Running {
  sample: Sample;
  settle(): Promise<void>;
}

function running(child: ChildProcess, t0: number, sample: Sample): Running {
  return {
    sample,
    async settle() {
      try {
        await new Promise((r) => setTimeout(r, Math.max(0, t0 + SETTLED_MS - performance.now())));
        sample.rssSettled = await rssMb(child.pid ?? 0);
      } finally {
        await stop(child);
      }
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

async function runGateway(dist: string, dir: string, env: Record<string, string> = {}): Promise<Running> {
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, config(dir));
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(dist, 'gateway/cli.js'), 'run', '--config', configPath], {
    env: { ...process.env, NODE_OPTIONS: '', ZEPHYR2MQTT_HEAP_TUNING: '', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  try {
    const httpPort = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no HTTP listener:\n${out}`)), START_TIMEOUT_MS);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const port = /"port":(\d+)[^\n]*"msg":"HTTP listener up"/.exec(out)?.[1];
        if (port) {
          clearTimeout(timer);
          resolve(Number(port));
        }
      });
      child.once('exit', (code) => reject(new Error(`gateway exited ${code}:\n${out}`)));
    });
    // Poll /readyz: the benchmark measures when it first answers 200.
    let readyMs = Number.NaN;
    while (performance.now() - t0 < START_TIMEOUT_MS) {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).catch(() => undefined);
      if (res?.status === 200) {
        readyMs = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    if (!Number.isFinite(readyMs)) {
      const res = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then((r) => r.text());
      console.error(`not ready: ${res}`);
    }
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const rss = await rssMb(child.pid ?? 0);
    const metrics = await fetch(`http://127.0.0.1:${httpPort}/metrics`).then((r) => r.text());
    const newSpace = /_heap_space_size_total_bytes\{space="new"\} (\d+)/.exec(metrics)?.[1];
    // Read after the idle wait: the log is written asynchronously.
    const startMs = Number(/"ms":(\d+)[^\n]*"msg":"zephyr2mqtt started"/.exec(out)?.[1] ?? Number.NaN);
    return running(child, t0, { readyMs, startMs, rss, newSpaceMb: Number(newSpace ?? Number.NaN) / 2 ** 20 });
  } catch (err) {
    await stop(child);
    throw err;
  }
}

async function runBareNode(): Promise<Running> {
  return runScript("setInterval(() => {}, 1000); console.log('up');");
}

async function runBareAedes(): Promise<Running> {
  return runScript(`
    import { createServer } from 'node:net';
    import { Aedes } from 'aedes';
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    server.listen(0, '127.0.0.1', () => console.log('listening'));
  `);
}

async function runScript(script: string): Promise<Running> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  return running(child, t0, { readyMs, startMs: Number.NaN, rss: await rssMb(child.pid ?? 0) });
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  // The same build as `npm run build`: tsc, the assets, zod's bundle and the app's (scripts/bundle-app.mjs).
  const dist = join(ROOT, 'dist');
  {
    // Compile what `npm start` runs, as `npm run build` does; tsc emits even if a file elsewhere has a type error.
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dist],
        { stdio: 'ignore' },
      );
    } catch {
      // type errors are reported by `npm run typecheck`; the emitted JavaScript is what we measure
    }
    for (const script of ['copy-assets.mjs', 'bundle-zod.mjs', 'bundle-app.mjs'])
      execFileSync(process.execPath, [join(ROOT, 'scripts', script), dist], { cwd: ROOT, stdio: 'inherit' });
    const gateway: Sample[] = [];
    const defaults: Sample[] = [];
    const bare: Sample[] = [];
    const empty: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dirs = [await mkdtemp(join(tmpdir(), 'z2m-bench-core-')), await mkdtemp(join(tmpdir(), 'z2m-bench-core-'))];
      const procs: Running[] = [];
      try {
        const add = async (to: Sample[], run: Promise<Running>) => {
          const r = await run;
          procs.push(r);
          to.push(r.sample);
        };
        await add(gateway, runGateway(dist, dirs[0] ?? ''));
        await add(defaults, runGateway(dist, dirs[1] ?? '', TUNING_OFF));
        await add(bare, runBareAedes());
        await add(empty, runBareNode());
      } finally {
        await Promise.all(procs.map((p) => p.settle()));
        for (const dir of dirs) await rm(dir, { recursive: true, force: true });
      }
    }
    const fmt = (n: number, unit: string) => (Number.isFinite(n) ? `${n.toFixed(1)} ${unit}` : 'n/a');
    console.log(
      `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; median of ${RUNS} runs\n`,
    );
    console.log(
      `| Process | Spawn to ready | Gateway start() | Idle RSS 5 s after ready | Idle RSS settled (${SETTLED_MS / 1000} s after spawn) | V8 young generation |`,
    );
    console.log('| --- | --- | --- | --- | --- | --- |');
    const settled = (samples: Sample[]) => fmt(median(samples.map((s) => s.rssSettled ?? Number.NaN)), 'MB');
    const row = (label: string, samples: Sample[]) =>
      console.log(
        `| ${label} | ${fmt(median(samples.map((s) => s.readyMs)), 'ms')} (/readyz 200) | ${fmt(median(samples.map((s) => s.startMs)), 'ms')} | ${fmt(median(samples.map((s) => s.rss)), 'MB')} | ${settled(samples)} | ${fmt(median(samples.map((s) => s.newSpaceMb ?? Number.NaN)), 'MB')} |`,
      );
    row(`zephyr2mqtt, ${DEVICES} CoAP devices (\`node dist/gateway/cli.js run\`, as shipped)`, gateway);
    row('same, `ZEPHYR2MQTT_HEAP_TUNING=off` (V8 defaults)', defaults);
    console.log(
      `| bare aedes 1.x broker process (baseline) | ${fmt(median(bare.map((s) => s.readyMs)), 'ms')} (listening) | n/a | ${fmt(median(bare.map((s) => s.rss)), 'MB')} | ${settled(bare)} | |`,
    );
    console.log(
      `| empty Node ${process.version} process (floor) | ${fmt(median(empty.map((s) => s.readyMs)), 'ms')} | n/a | ${fmt(median(empty.map((s) => s.rss)), 'MB')} | ${settled(empty)} | |`,
    );
    console.log('\nTargets (issue 2): idle RSS <= 60 MB, start to /readyz ok <= 1 s.');
  }
}

await main();
