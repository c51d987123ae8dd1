// Core footprint: idle RSS with 100 configured devices and the time from process start to /readyz ok,
// for the compiled gateway (node dist/gateway/cli.js run), beside a bare aedes broker process as the baseline.
// A second gateway row runs with V8's young generation capped (--max-semi-space-size=1), the setting
// docs/benchmarks.md suggests for small devices.
// Usage: npx tsx bench/core.ts [runs=3]
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.argv[2] ?? 3);
const DEVICES = 100;
const IDLE_MS = 5000;
const START_TIMEOUT_MS = 30_000;
/** Young generation capped at 1 MB semi-spaces: V8 otherwise grows it to 16 MB during start-up and keeps it. */
const SMALL_YOUNG_FLAG = '--max-semi-space-size=1';

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

function config(dir: string): string {
  const devices = Array.from(
    { length: DEVICES },
    (_, i) => `  - { id: dev-${i}, name: "Device ${i}", transport: coap, token: bench-token-${i} }`,
  ).join('\n');
  return `gateway: { id: bench, data_dir: ${join(dir, 'data')}, log_level: info }
broker:
  listeners: [{ type: mqtt, host: 127.0.0.1, port: 0 }]
  allow_anonymous: true
http: { host: 127.0.0.1, port: 0, dashboard: false }
adapters:
  coap: { enabled: true, bind: 127.0.0.1, port: 0 }
  serial: { enabled: false }
  ble: { enabled: false }
devices:
${devices}
`;
}

interface Sample {
  readyMs: number;
  startMs: number;
  rss: number;
}

async function runGateway(dist: string, dir: string, nodeFlags: string[] = []): Promise<Sample> {
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, config(dir));
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, join(dist, 'gateway/cli.js'), 'run', '--config', configPath], {
    env: { ...process.env, LOG_FORMAT: 'json' },
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
    // Read after the idle wait: the log is written asynchronously.
    const startMs = Number(/"ms":(\d+)[^\n]*"msg":"zephyr2mqtt started"/.exec(out)?.[1] ?? Number.NaN);
    return { readyMs, startMs, rss };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
}

async function runBareNode(): Promise<Sample> {
  return runScript("setInterval(() => {}, 1000); console.log('up');");
}

async function runBareAedes(): Promise<Sample> {
  return runScript(`
    import { createServer } from 'node:net';
    import { Aedes } from 'aedes';
    const broker = await Aedes.createBroker();
    const server = createServer(broker.handle);
    server.listen(0, '127.0.0.1', () => console.log('listening'));
  `);
}

async function runScript(script: string): Promise<Sample> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const readyMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = await rssMb(child.pid ?? 0);
  child.kill('SIGTERM');
  await once(child, 'exit');
  return { readyMs, startMs: Number.NaN, rss };
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  // The same build as `npm run build` (dist/ beside adapters/, whose data files the adapters read).
  const dist = join(ROOT, 'dist');
  {
    // Compile what `npm start` runs; tsc emits even if a file elsewhere has a type error.
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dist],
        { stdio: 'ignore' },
      );
    } catch {
      // type errors are reported by `npm run typecheck`; the emitted JavaScript is what we measure
    }
    const gateway: Sample[] = [];
    const smallYoung: Sample[] = [];
    const bare: Sample[] = [];
    const empty: Sample[] = [];
    for (let i = 0; i < RUNS; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'z2m-bench-core-'));
      try {
        gateway.push(await runGateway(dist, dir));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      const dir2 = await mkdtemp(join(tmpdir(), 'z2m-bench-core-'));
      try {
        smallYoung.push(await runGateway(dist, dir2, [SMALL_YOUNG_FLAG]));
      } finally {
        await rm(dir2, { recursive: true, force: true });
      }
      bare.push(await runBareAedes());
      empty.push(await runBareNode());
    }
    const fmt = (n: number, unit: string) => (Number.isFinite(n) ? `${n.toFixed(1)} ${unit}` : 'n/a');
    console.log(
      `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}; median of ${RUNS} runs\n`,
    );
    console.log('| Process | Spawn to ready | Gateway start() | Idle RSS |');
    console.log('| --- | --- | --- | --- |');
    console.log(
      `| zephyr2mqtt, ${DEVICES} CoAP devices (dist, coap adapter on) | ${fmt(median(gateway.map((s) => s.readyMs)), 'ms')} (/readyz 200) | ${fmt(median(gateway.map((s) => s.startMs)), 'ms')} | ${fmt(median(gateway.map((s) => s.rss)), 'MB')} |`,
    );
    console.log(
      `| same, \`node ${SMALL_YOUNG_FLAG}\` | ${fmt(median(smallYoung.map((s) => s.readyMs)), 'ms')} (/readyz 200) | ${fmt(median(smallYoung.map((s) => s.startMs)), 'ms')} | ${fmt(median(smallYoung.map((s) => s.rss)), 'MB')} |`,
    );
    console.log(
      `| bare aedes 1.x broker process (baseline) | ${fmt(median(bare.map((s) => s.readyMs)), 'ms')} (listening) | n/a | ${fmt(median(bare.map((s) => s.rss)), 'MB')} |`,
    );
    console.log(
      `| empty Node ${process.version} process (floor) | ${fmt(median(empty.map((s) => s.readyMs)), 'ms')} | n/a | ${fmt(median(empty.map((s) => s.rss)), 'MB')} |`,
    );
    console.log('\nTargets (issue 2): idle RSS <= 60 MB, start to /readyz ok <= 1 s.');
  }
}

await main();
