// Serial adapter throughput and latency: mixed traffic (shell/log text, NDJSON, SMP frames) at a paced line
// rate into a socat pty, through the real gateway, out to an MQTT subscriber.
// The gateway runs in this process (its CPU time is what is measured); the load generator and the MQTT
// subscriber run in a child process (`bench/serial.ts --load ...`) so they do not share its event loop.
// No peer is named for serial: the reference is the line rate. `SERIAL_BENCH_SECONDS` sets the window (default 5).
// Each gateway row runs twice, alternately, in the same run: with the serial adapter's event-loop tty reader (the
// default) and with serialport's own thread-pool reader (the previous default), next to both readers alone.
// Latency is split, all stamps on the system-wide monotonic clock: writer -> gateway read (the chunk holding the
// line reaches the adapter's splitter: pty, socat, scheduling), gateway read -> broker (the gateway's own work up to
// the state publish reaching its broker) and writer -> MQTT subscriber (the child) end to end; the writer's own
// write time is shown too, since a lagging writer inflates everything.
// The `zephyr2mqtt run` rows measure the gateway as it ships instead: the compiled CLI in its own process, with the
// serial device in its config and its defaults otherwise (tty reader, dashboard, `/log`, V8 tuned at run time by
// `gateway/runtime/`); its CPU comes from /proc/<pid>/stat, and only the end-to-end latency can be stamped.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import mqtt from 'mqtt';
import { SmpClient } from '../adapters/common/smp/client.js';
import { encodeSmpMessage } from '../adapters/common/smp/packet.js';
import { encodeSerialFrames } from '../adapters/common/smp/serial-frame.js';
import type { SerialAdapterConfig } from '../adapters/serial/config.js';
import { serialAdapterModule } from '../adapters/serial/index.js';
import { LineDemux } from '../adapters/serial/line-demux.js';
import { LineSplitter } from '../adapters/serial/line-splitter.js';
import { SerialAdapter } from '../adapters/serial/serial-adapter.js';
import { openTtyReader } from '../adapters/serial/tty-reader.js';
import type { AdapterContext } from '../gateway/adapter.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { startPtyPair } from '../test/sim/serial/pty-pair.js';
import { type CompiledTree, compileForBench } from './_compiled.js';

interface LoadResult {
  bytes: number;
  seconds: number;
  ndjsonSent: number;
  ndjsonReceived: number;
  latenciesMs: number[];
  /** seq -> monotonic ms when the writer called write() for the chunk holding that NDJSON line. */
  sentAt: Record<number, number>;
  /** Duration of each write() call of the writer (call -> callback). */
  writeMs: number[];
}

type Mode = 'serialport only' | 'tty reader only' | 'gateway' | 'gateway, no /log' | 'zephyr2mqtt run';
type Reader = 'tty' | 'binding';

/** System-wide monotonic clock in ms: comparable between the gateway and the load process. */
const now = (): number => Number(process.hrtime.bigint()) / 1e6;

const BASE = 'zephyr2mqtt';

/** Unmeasured traffic into a freshly started `zephyr2mqtt run` before its measured row (SERIAL_BENCH_WARM_UP_S). */
const CLI_WARM_UP_S = Number(process.env.SERIAL_BENCH_WARM_UP_S ?? 10);

/** The compiled gateway for the `zephyr2mqtt run` rows, built once on first use. */
let compiled: CompiledTree | undefined;

if (process.argv[2] === '--load') {
  const [, , , path, mqttUrl, baud, seconds] = process.argv;
  const result = await generateLoad(path!, mqttUrl!, Number(baud), Number(seconds));
  process.send!(result, () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  if (process.env.SERIAL_BENCH_PERLINE === '1') {
    await perLine();
    return;
  }
  const seconds = Number(process.env.SERIAL_BENCH_SECONDS ?? 5);
  // SERIAL_BENCH_ONLY: a regular expression on "<rate> | <receiver> | <reader>" selects rows (repeats, profiling).
  const only = process.env.SERIAL_BENCH_ONLY ? new RegExp(process.env.SERIAL_BENCH_ONLY) : undefined;
  const plan: Array<[number, Mode, Reader]> = [[0, 'gateway', 'tty']];
  for (const baud of [115_200, 1_000_000]) {
    plan.push([baud, 'serialport only', 'binding'], [baud, 'tty reader only', 'tty']);
    for (const mode of ['gateway', 'gateway, no /log'] as const)
      plan.push([baud, mode, 'binding'], [baud, mode, 'tty']);
    plan.push([baud, 'zephyr2mqtt run', 'tty']);
  }
  const selected = plan.filter(
    ([baud, mode, reader]) => !only || only.test(`${baud > 0 ? `${baud} baud` : 'idle'} | ${mode} | ${reader}`),
  );
  // SERIAL_BENCH_ROUNDS: the selected rows run this many times, interleaved (A B A B...), printed side by side.
  const rounds = Number(process.env.SERIAL_BENCH_ROUNDS ?? 1);
  const results: string[][] = selected.map(() => []);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const [i, [baud, mode, reader]] of selected.entries())
        results[i]!.push(await scenario(baud, seconds, mode, reader));
    }
  } finally {
    compiled?.remove();
  }
  const rows = results.flat();
  console.log(
    `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; ${seconds} s per row, ${rounds} round(s)\n`,
  );
  console.log(
    '| Line rate | Receiver | Reader | Offered B/s | Sent B/s | NDJSON lines delivered | Writer → gateway read p50 / p99 / max (ms) | Gateway read → broker p50 / p99 / max (ms) | Writer → subscriber p50 / p99 / max (ms) | Writer write() p99 (ms) | Gateway CPU (% of one core) | CPU per 115200-baud equivalent |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (only) return;
  console.log('\nDecode path alone (line splitter + demux + NDJSON/SMP decoding, no I/O, one core):\n');
  console.log(decodeOnly());
}

/** The adapter's per-byte work on a prepared mixed stream: shows the cost independent of MQTT and machine load. */
function decodeOnly(): string {
  let item = 0;
  const parts: Buffer[] = [];
  const smpFrames = Buffer.concat(
    encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 200, body: { r: 'x'.repeat(120) } }),
    ),
  );
  for (let size = 0; size < 4_000_000; ) {
    const b = mixedItem(++item, item, smpFrames);
    parts.push(b);
    size += b.length;
  }
  const stream = Buffer.concat(parts);
  const chunks: Buffer[] = [];
  for (let off = 0; off < stream.length; off += 4096) chunks.push(stream.subarray(off, off + 4096));
  const smp = new SmpClient({ send: () => {} });
  let events = 0;
  const run = () => {
    const splitter = new LineSplitter(4096);
    const demux = new LineDemux({ framing: 'ndjson', smp: true });
    for (const c of chunks) {
      splitter.push(c, (ev) => {
        if (ev.kind !== 'line') return;
        for (const e of demux.push(ev.line)) {
          events++;
          if (e.kind === 'smp') smp.handlePacket(e.packet);
        }
      });
    }
  };
  run(); // warm-up
  const t0 = performance.now();
  const rounds = 3;
  for (let i = 0; i < rounds; i++) run();
  const ms = performance.now() - t0;
  const bps = (stream.length * rounds) / (ms / 1000);
  return [
    '| Stream | Throughput | Lines/s | CPU at 1 Mbaud (100 kB/s) | CPU per 115200 baud |',
    '|---|---|---|---|---|',
    `| ${(stream.length / 1e6).toFixed(1)} MB mixed | ${(bps / 1e6).toFixed(1)} MB/s | ${((events / (rounds + 1)) * (rounds / (ms / 1000))).toFixed(0)} | ${((100_000 / bps) * 100).toFixed(2)} % | ${((11_520 / bps) * 100).toFixed(3)} % |`,
  ].join('\n');
}

/**
 * SERIAL_BENCH_PERLINE=1: the gateway's CPU per decoded line, without the tty, the pty or an MQTT client: the
 * serial adapter's context gets one state line (`ctx.telemetry`) or one `/log` line (`ctx.publish`) per event-loop
 * turn (as at 115200 baud, where lines arrive in separate reads), minus an empty turn. Variants switch the dashboard
 * and the broker's persistence (the retained journal) off to split the cost. The idle columns are the same
 * gateway with no lines: CPU and voluntary context switches (wake-ups) of the main thread, from /proc.
 */
async function perLine(): Promise<void> {
  const n = Number(process.env.SERIAL_BENCH_LINES ?? 20_000);
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const cpuPerTurn = async (fn: (i: number) => void): Promise<number> => {
    for (let i = 0; i < 2000; i++) {
      fn(i);
      await turn();
    }
    const start = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      fn(i);
      await turn();
    }
    const cpu = process.cpuUsage(start);
    return (cpu.user + cpu.system) / n;
  };
  const wakeups = (): number => {
    const status = readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8');
    return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  };
  const rows: string[] = [];
  const variants = [
    { name: 'default (dashboard, persistence)', dashboard: true, persistence: true },
    { name: 'dashboard off', dashboard: false, persistence: true },
    { name: 'persistence off', dashboard: true, persistence: false },
  ];
  for (let round = 0; round < 2; round++) {
    for (const v of variants) {
      let ctx: AdapterContext | undefined;
      const create = serialAdapterModule.create;
      serialAdapterModule.create = (config: SerialAdapterConfig, c: AdapterContext) => {
        ctx = c;
        return new SerialAdapter(config, c, { ttyReader: true });
      };
      let gw: Awaited<ReturnType<typeof startTestGateway>>;
      try {
        gw = await startTestGateway({
          adapters: { serial: { enabled: true } },
          http: { dashboard: v.dashboard },
          broker: { persistence: v.persistence },
          // No such port: the device stays configured (state merges and publishes) while its link backs off.
          devices: [{ id: 'board', transport: 'serial', path: '/dev/z2m-bench-none', baud_rate: 115_200, log: true }],
        });
      } finally {
        serialAdapterModule.create = create;
      }
      const adapter = ctx;
      if (!adapter) throw new Error('serial adapter did not start');
      const idleMs = 3000;
      await new Promise((r) => setTimeout(r, 1000)); // start-up settles (first link attempt, first publishes)
      const w0 = wakeups();
      const c0 = process.cpuUsage();
      await new Promise((r) => setTimeout(r, idleMs));
      const idleCpu = process.cpuUsage(c0);
      const idleWakeups = ((wakeups() - w0) / idleMs) * 1000;
      const empty = await cpuPerTurn(() => {});
      const state = await cpuPerTurn((i) =>
        adapter.telemetry('board', { seq: i, temperature: 21.5, humidity: 40.2, pressure: 1013.25 }),
      );
      const log = await cpuPerTurn((i) =>
        adapter.publish(
          'board',
          'log',
          `[00:00:${String(i % 60).padStart(2, '0')}.123,456] <inf> sensor: sample ${i} ok`,
        ),
      );
      await gw.stop();
      // At 115200 baud with the bench's mix: ≈ 31 state lines/s and ≈ 135 /log lines/s.
      const at115200 = ((state - empty) * 31 + (log - empty) * 135) / 1e4;
      rows.push(
        `| ${v.name} | ${(((idleCpu.user + idleCpu.system) / 1000 / idleMs) * 100).toFixed(2)} % | ${idleWakeups.toFixed(0)} | ${empty.toFixed(1)} | ${(state - empty).toFixed(1)} | ${(log - empty).toFixed(1)} | ${at115200.toFixed(2)} % |`,
      );
    }
  }
  console.log(`Per line, ${n} lines per cell, two rounds; Node ${process.version}\n`);
  console.log(
    '| Gateway | Idle CPU (% of one core) | Idle main-thread wake-ups/s | Empty turn (µs) | State line (µs) | /log line (µs) | Lines at 115200 baud (% of one core) |',
  );
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
}

/** Mixed traffic: 1 in 5 items an NDJSON line, 1 in 7 an SMP response (2 frames), the rest log lines. */
function mixedItem(item: number, seq: number, smpFrames: Buffer): Buffer {
  if (item % 5 === 0)
    return Buffer.from(`${JSON.stringify({ seq, temperature: 21.5, humidity: 40.2, pressure: 1013.25 })}\n`);
  if (item % 7 === 0) return smpFrames;
  return Buffer.from(
    `[00:00:${String(item % 60).padStart(2, '0')}.123,456] \x1b[0m<inf> sensor: sample ${item} ok\x1b[0m\r\n`,
  );
}

/** Reads the pty with serialport and drops the bytes: the transport's own cost, the floor under the gateway. */
async function serialportOnly(path: string): Promise<Target> {
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const receivedAt = new Map<number, number>();
  port.on('data', (chunk: Buffer) => stampSeqs(chunk, receivedAt));
  return { mqttUrl: '-', receivedAt, stop: () => new Promise<void>((resolve) => port.close(() => resolve())) };
}

/** Reader-only rows: files the chunk's arrival under each `"seq":N` in it (memmem + digits, no decoding). */
function stampSeqs(chunk: Buffer, into: Map<number, number>): void {
  const at = now();
  const key = '"seq":'; // a string, not a module-level Buffer: main() runs before later top-level consts exist
  for (let i = chunk.indexOf(key); i >= 0; i = chunk.indexOf(key, i + key.length)) {
    let n = 0;
    let j = i + key.length;
    for (; j < chunk.length && chunk[j]! >= 0x30 && chunk[j]! <= 0x39; j++) n = n * 10 + chunk[j]! - 0x30;
    if (j > i + key.length) into.set(n, at);
  }
}

/** The bench's own floor for the new path: serialport opens and configures the port, the tty reader reads it. */
async function ttyReaderOnly(path: string): Promise<Target> {
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const receivedAt = new Map<number, number>();
  const reader = await openTtyReader(path, { data: (chunk) => stampSeqs(chunk, receivedAt), end: () => {} });
  if (!reader) throw new Error(`no tty reader for ${path}`);
  return {
    mqttUrl: '-',
    receivedAt,
    stop: () => {
      reader.close();
      return new Promise<void>((resolve) => port.close(() => resolve()));
    },
  };
}

interface Target {
  mqttUrl: string;
  /** CPU time (µs) of the measured process when it is not this one. */
  cpuMicros?(): number;
  /** seq -> monotonic ms when the gateway's reader got the chunk that completed the NDJSON line. */
  receivedAt?: Map<number, number>;
  /** seq -> monotonic ms when the gateway's broker saw the state publish carrying it. */
  publishedAt?: Map<number, number>;
  stop(): Promise<void>;
}

/**
 * Bench-only probe in the gateway: stamps each chunk as the splitter gets it and, when the demultiplexer turns a
 * line into telemetry with a `seq`, files that chunk's time under the seq. One clock read per chunk and one
 * property test per line. Returns the uninstaller.
 */
function installReceiveProbe(receivedAt: Map<number, number>): () => void {
  const split = LineSplitter.prototype.push;
  const demux = LineDemux.prototype.push;
  let chunkAt = 0;
  LineSplitter.prototype.push = function (this: LineSplitter, ...args: Parameters<LineSplitter['push']>) {
    chunkAt = now();
    split.apply(this, args);
  };
  LineDemux.prototype.push = function (this: LineDemux, line: Uint8Array) {
    const events = demux.call(this, line);
    for (const e of events)
      if (e.kind === 'telemetry' && typeof e.values.seq === 'number') receivedAt.set(e.values.seq, chunkAt);
    return events;
  };
  return () => {
    LineSplitter.prototype.push = split;
    LineDemux.prototype.push = demux;
  };
}

async function withGateway(path: string, log: boolean, reader: Reader): Promise<Target> {
  // Bench-only: the gateway builds adapters from the registry's module, so the reader is chosen by swapping its
  // factory for the duration of this gateway (SerialAdapterDeps.ttyReader; config does not expose it).
  const create = serialAdapterModule.create;
  serialAdapterModule.create = (config: SerialAdapterConfig, ctx: AdapterContext) =>
    new SerialAdapter(config, ctx, { ttyReader: reader === 'tty' });
  let gw: Awaited<ReturnType<typeof startTestGateway>>;
  try {
    gw = await startTestGateway({
      adapters: { serial: { enabled: true } },
      // The dashboard is on by default and sees every publish; SERIAL_BENCH_DASHBOARD=0 measures without it.
      http: { dashboard: process.env.SERIAL_BENCH_DASHBOARD !== '0' },
      devices: [{ id: 'board', transport: 'serial', path, baud_rate: 115_200, log }],
    });
  } finally {
    serialAdapterModule.create = create;
  }
  const receivedAt = new Map<number, number>();
  const uninstall = installReceiveProbe(receivedAt);
  const publishedAt = new Map<number, number>();
  // In-process tap on the broker: a regex on the payload, so it adds next to nothing to the measured CPU.
  const untap = gw.gateway.broker.subscribe(`${BASE}/board`, (msg) => {
    const m = /"seq":(\d+)/.exec(msg.payload.toString('latin1'));
    if (m) publishedAt.set(Number(m[1]), now());
  });
  const probe = await gw.connect();
  await gw.waitForMessage(probe, `${BASE}/board/availability`, (p: { state: string }) => p.state === 'online');
  await probe.endAsync();
  return {
    mqttUrl: gw.mqttUrl,
    receivedAt,
    publishedAt,
    stop: () => {
      untap();
      uninstall();
      return gw.stop();
    },
  };
}

/** The compiled gateway CLI (`zephyr2mqtt run`) in its own process, the serial device in its config. */
async function cliGateway(path: string, dir: string): Promise<Target> {
  compiled ??= compileForBench([]);
  const port = await freePort();
  const config = join(dir, 'gateway.yaml');
  writeFileSync(
    config,
    `gateway: { id: bench, data_dir: ${join(dir, 'data')} }
broker:
  listeners: [{ type: mqtt, host: 127.0.0.1, port: ${port} }]
  allow_anonymous: true
http: { host: 127.0.0.1, port: 0 }
adapters: { coap: { enabled: false }, serial: { enabled: true }, ble: { enabled: false } }
devices:
  - { id: board, transport: serial, path: ${path}, baud_rate: 115200 }
`,
  );
  // SERIAL_BENCH_NODE_FLAGS and SERIAL_BENCH_HEAP_TUNING=off: experiments with V8's settings.
  const flags = (process.env.SERIAL_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f !== '');
  const proc = spawn(process.execPath, [...flags, join(compiled.out, 'gateway/cli.js'), 'run', '--config', config], {
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      LOG_FORMAT: 'json',
      ZEPHYR2MQTT_HEAP_TUNING: process.env.SERIAL_BENCH_HEAP_TUNING ?? '',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const mqttUrl = `mqtt://127.0.0.1:${port}`;
  try {
    await waitOnline(mqttUrl, proc);
  } catch (err) {
    await stopProcess(proc);
    throw err;
  }
  return {
    mqttUrl,
    cpuMicros: () => {
      // utime and stime, in clock ticks (100 per second on Linux)
      const fields = readFileSync(`/proc/${proc.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    },
    stop: () => stopProcess(proc),
  };
}

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (!address || typeof address === 'string') throw new Error('no ephemeral port');
  return address.port;
}

/** Until the gateway's broker reports the board online (bounded: 30 s). */
async function waitOnline(mqttUrl: string, proc: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`zephyr2mqtt run exited with ${proc.exitCode}`);
    const client = await mqtt
      .connectAsync(mqttUrl, { reconnectPeriod: 0, connectTimeout: 1000 })
      .catch(() => undefined);
    if (!client) {
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      const online = new Promise<void>((resolve) =>
        client.on('message', (_topic, payload) => payload.toString().includes('online') && resolve()),
      );
      await client.subscribeAsync(`${BASE}/board/availability`);
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('board not online within 30 s')), Math.max(0, deadline - Date.now())).unref(),
      );
      await Promise.race([online, timeout]);
      return;
    } finally {
      await client.endAsync();
    }
  }
  throw new Error('zephyr2mqtt run: no broker within 30 s');
}

async function stopProcess(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  proc.kill('SIGTERM');
  await once(proc, 'exit');
}

/** One run of the load generator (child process) and the measured process' CPU time over its window. */
async function runLoad(
  devicePath: string,
  target: Target,
  baud: number,
  seconds: number,
): Promise<{ load: LoadResult; cpu: number; wall: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--load',
      devicePath,
      target.mqttUrl,
      String(baud),
      String(seconds),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const cpuMicros =
    target.cpuMicros ??
    (() => {
      const { user, system } = process.cpuUsage();
      return user + system;
    });
  let cpuStart = 0;
  let wallStart = 0;
  return new Promise((resolve, reject) => {
    child.on('message', (msg: LoadResult | 'start') => {
      if (msg === 'start') {
        cpuStart = cpuMicros();
        wallStart = performance.now();
        return;
      }
      resolve({ load: msg, cpu: cpuMicros() - cpuStart, wall: performance.now() - wallStart });
    });
    child.on('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
  });
}

async function scenario(baud: number, seconds: number, mode: Mode, reader: Reader): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serial-'));
  const pty = await startPtyPair(dir);
  const target =
    mode === 'serialport only'
      ? await serialportOnly(pty.gatewayPath)
      : mode === 'tty reader only'
        ? await ttyReaderOnly(pty.gatewayPath)
        : mode === 'zephyr2mqtt run'
          ? await cliGateway(pty.gatewayPath, dir)
          : await withGateway(pty.gatewayPath, mode === 'gateway', reader);
  try {
    // The shipped gateway was just started: its first seconds of traffic (V8 still tuning, see gateway/runtime/)
    // are not its steady state, so the load runs once unmeasured before the measured run.
    if (mode === 'zephyr2mqtt run' && baud > 0) await runLoad(pty.devicePath, target, baud, CLI_WARM_UP_S);
    const { load, cpu, wall } = await runLoad(pty.devicePath, target, baud, seconds);
    const cpuPct = (cpu / 1000 / wall) * 100;
    const toReader: number[] = [];
    const readerToBroker: number[] = [];
    for (const [seq, received] of target.receivedAt ?? []) {
      const sent = load.sentAt[seq];
      const published = target.publishedAt?.get(seq);
      if (sent !== undefined) toReader.push(received - sent);
      if (published !== undefined) readerToBroker.push(published - received);
    }
    const sentRate = load.bytes / load.seconds;
    const perDevice = sentRate > 0 ? `${(cpuPct / (sentRate / 11_520)).toFixed(2)} %` : 'n/a';
    const noMqtt = mode === 'serialport only' || mode === 'tty reader only';
    return `| ${baud > 0 ? `${baud} baud` : 'idle'} | ${mode} | ${reader} | ${(baud / 10).toFixed(0)} | ${sentRate.toFixed(0)} | ${noMqtt ? 'n/a (no MQTT)' : `${load.ndjsonReceived} / ${load.ndjsonSent}`} | ${quantiles(toReader)} | ${quantiles(readerToBroker)} | ${quantiles(load.latenciesMs)} | ${quantile(
      load.writeMs.sort((a, b) => a - b),
      0.99,
    )} | ${cpuPct.toFixed(1)} % | ${perDevice} |`;
  } finally {
    await target.stop();
    await pty.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
}

function quantile(sorted: number[], p: number): string {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]?.toFixed(2) ?? 'n/a';
}

function quantiles(values: number[]): string {
  const v = [...values].sort((a, b) => a - b);
  return `${quantile(v, 0.5)} / ${quantile(v, 0.99)} / ${v.at(-1)?.toFixed(2) ?? 'n/a'}`;
}

/** Writes paced mixed traffic (8N1: 10 bits per byte) and measures NDJSON line -> MQTT state latency. */
async function generateLoad(path: string, mqttUrl: string, baud: number, seconds: number): Promise<LoadResult> {
  const client = mqttUrl === '-' ? undefined : await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
  const sentAt = new Map<number, number>();
  const allSentAt: Record<number, number> = {};
  const latenciesMs: number[] = [];
  const writeMs: number[] = [];
  client?.on('message', (_topic, payload) => {
    const seq = (JSON.parse(payload.toString()) as { seq?: number }).seq;
    const t = seq === undefined ? undefined : sentAt.get(seq);
    if (t !== undefined) {
      latenciesMs.push(now() - t);
      sentAt.delete(seq!);
    }
  });
  await client?.subscribeAsync(`${BASE}/board`, { qos: 0 });
  // serialport configures the device end (raw 8N1); the bytes go out with writeSync on a second non-blocking
  // descriptor, so a write is on the pty when the call returns (the binding's write waits for the thread pool,
  // which showed up as writer lag in the latency).
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOCTTY | constants.O_NONBLOCK);
  const writeAll = async (bytes: Buffer): Promise<void> => {
    let off = 0;
    for (let tries = 0; off < bytes.length; tries++) {
      try {
        off += writeSync(fd, bytes, off);
      } catch (err) {
        // The pty is full (the reader is behind): wait for it, bounded.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || tries > 2000) throw err;
        await new Promise((r) => setTimeout(r, 1));
      }
    }
  };

  const smpFrames = Buffer.concat(
    encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 200, body: { r: 'x'.repeat(120) } }),
    ),
  );
  let seq = 0;
  let item = 0;
  const pendingSeqs: number[] = [];
  const nextItem = (): Buffer => {
    item++;
    if (item % 5 === 0) {
      pendingSeqs.push(seq);
      return Buffer.from(`${JSON.stringify({ seq: seq++, temperature: 21.5, humidity: 40.2, pressure: 1013.25 })}\n`);
    }
    if (item % 7 === 0) return smpFrames;
    return Buffer.from(
      `[00:00:${String(item % 60).padStart(2, '0')}.123,456] \x1b[0m<inf> sensor: sample ${item} ok\x1b[0m\r\n`,
    );
  };

  const bytesPerSecond = baud / 10;
  process.send!('start');
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < seconds * 1000) {
    const due = ((performance.now() - start) / 1000) * bytesPerSecond - sent;
    const parts: Buffer[] = [];
    let n = 0;
    while (n < due) {
      const b = nextItem();
      parts.push(b);
      n += b.length;
    }
    if (n > 0) {
      // Stamped just before the write: the lines in this chunk reach the pty no earlier than this.
      const t = now();
      for (const s of pendingSeqs.splice(0)) {
        sentAt.set(s, t);
        allSentAt[s] = t;
      }
      await writeAll(Buffer.concat(parts));
      writeMs.push(now() - t);
      sent += n;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const elapsed = (performance.now() - start) / 1000;
  const ndjsonSent = seq;
  // Let the last lines through (bounded wait).
  for (let i = 0; client && i < 100 && latenciesMs.length < ndjsonSent; i++)
    await new Promise((r) => setTimeout(r, 20));
  await client?.endAsync();
  closeSync(fd);
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return {
    bytes: sent,
    seconds: elapsed,
    ndjsonSent,
    ndjsonReceived: latenciesMs.length,
    latenciesMs,
    sentAt: allSentAt,
    writeMs,
  };
}
