// Serial adapter throughput and latency: mixed traffic (shell/log text, NDJSON, SMP frames) at a paced line
// rate into a socat pty, through the real gateway, out to an MQTT subscriber.
// The gateway runs in this process (its CPU time is what is measured); the load generator and the MQTT
// subscriber run in a child process (`bench/serial.ts --load ...`) so they do not share its event loop.
// No peer is named for serial: the reference is the line rate. `SERIAL_BENCH_SECONDS` sets the window (default 5).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import mqtt from 'mqtt';
import { SmpClient } from '../adapters/common/smp/client.js';
import { encodeSmpMessage } from '../adapters/common/smp/packet.js';
import { encodeSerialFrames } from '../adapters/common/smp/serial-frame.js';
import { LineDemux } from '../adapters/serial/line-demux.js';
import { LineSplitter } from '../adapters/serial/line-splitter.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { startPtyPair } from '../test/sim/serial/pty-pair.js';

interface LoadResult {
  bytes: number;
  seconds: number;
  ndjsonSent: number;
  ndjsonReceived: number;
  latenciesMs: number[];
}

const BASE = 'zephyr2mqtt';

if (process.argv[2] === '--load') {
  const [, , , path, mqttUrl, baud, seconds] = process.argv;
  const result = await generateLoad(path!, mqttUrl!, Number(baud), Number(seconds));
  process.send!(result, () => process.exit(0));
} else {
  await main();
}

async function main(): Promise<void> {
  const seconds = Number(process.env.SERIAL_BENCH_SECONDS ?? 5);
  const rows: string[] = [];
  rows.push(await scenario(0, seconds, 'gateway'));
  for (const baud of [115_200, 1_000_000]) {
    rows.push(await scenario(baud, seconds, 'serialport only'));
    rows.push(await scenario(baud, seconds, 'gateway'));
    rows.push(await scenario(baud, seconds, 'gateway, no /log'));
  }
  console.log(
    `Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}; Node ${process.version}; ${seconds} s per row\n`,
  );
  console.log(
    '| Line rate | Receiver | Offered B/s | Sent B/s | NDJSON lines delivered | Latency p50 / p99 / max (ms) | Gateway CPU (% of one core) | CPU per 115200-baud equivalent |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
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
async function serialportOnly(path: string): Promise<{ mqttUrl: string; stop(): Promise<void> }> {
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  let bytes = 0;
  port.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
  });
  return { mqttUrl: '-', stop: () => new Promise<void>((resolve) => port.close(() => resolve(void bytes))) };
}

async function withGateway(path: string, log: boolean): Promise<{ mqttUrl: string; stop(): Promise<void> }> {
  const gw = await startTestGateway({
    adapters: { serial: { enabled: true } },
    devices: [{ id: 'board', transport: 'serial', path, baud_rate: 115_200, log }],
  });
  const probe = await gw.connect();
  await gw.waitForMessage(probe, `${BASE}/board/availability`, (p: { state: string }) => p.state === 'online');
  return { mqttUrl: gw.mqttUrl, stop: () => gw.stop() };
}

async function scenario(
  baud: number,
  seconds: number,
  mode: 'gateway' | 'gateway, no /log' | 'serialport only',
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-serial-'));
  const pty = await startPtyPair(dir);
  const target =
    mode === 'serialport only'
      ? await serialportOnly(pty.gatewayPath)
      : await withGateway(pty.gatewayPath, mode === 'gateway');
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--load',
        pty.devicePath,
        target.mqttUrl,
        String(baud),
        String(seconds),
      ],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
    );
    let cpuStart: NodeJS.CpuUsage | undefined;
    let wallStart = 0;
    const result = await new Promise<{ load: LoadResult; cpu: NodeJS.CpuUsage; wall: number }>((resolve, reject) => {
      child.on('message', (msg: LoadResult | 'start') => {
        if (msg === 'start') {
          cpuStart = process.cpuUsage();
          wallStart = performance.now();
          return;
        }
        resolve({ load: msg, cpu: process.cpuUsage(cpuStart), wall: performance.now() - wallStart });
      });
      child.on('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
    });
    const { load, cpu, wall } = result;
    const cpuPct = ((cpu.user + cpu.system) / 1000 / wall) * 100;
    const lat = load.latenciesMs.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]?.toFixed(2) ?? 'n/a';
    const sentRate = load.bytes / load.seconds;
    const perDevice = sentRate > 0 ? `${(cpuPct / (sentRate / 11_520)).toFixed(2)} %` : 'n/a';
    return `| ${baud > 0 ? `${baud} baud` : 'idle'} | ${mode} | ${(baud / 10).toFixed(0)} | ${sentRate.toFixed(0)} | ${mode === 'serialport only' ? 'n/a (no MQTT)' : `${load.ndjsonReceived} / ${load.ndjsonSent}`} | ${q(0.5)} / ${q(0.99)} / ${lat.at(-1)?.toFixed(2) ?? 'n/a'} | ${cpuPct.toFixed(1)} % | ${perDevice} |`;
  } finally {
    await target.stop();
    await pty.unplug();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes paced mixed traffic (8N1: 10 bits per byte) and measures NDJSON line -> MQTT state latency. */
async function generateLoad(path: string, mqttUrl: string, baud: number, seconds: number): Promise<LoadResult> {
  const client = mqttUrl === '-' ? undefined : await mqtt.connectAsync(mqttUrl, { reconnectPeriod: 0 });
  const sentAt = new Map<number, number>();
  const latenciesMs: number[] = [];
  client?.on('message', (_topic, payload) => {
    const seq = (JSON.parse(payload.toString()) as { seq?: number }).seq;
    const t = seq === undefined ? undefined : sentAt.get(seq);
    if (t !== undefined) {
      latenciesMs.push(performance.now() - t);
      sentAt.delete(seq!);
    }
  });
  await client?.subscribeAsync(`${BASE}/board`, { qos: 0 });
  const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));

  const smpFrames = Buffer.concat(
    encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 200, body: { r: 'x'.repeat(120) } }),
    ),
  );
  let seq = 0;
  let item = 0;
  const nextItem = (): Buffer => {
    item++;
    if (item % 5 === 0) {
      sentAt.set(seq, performance.now());
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
      await new Promise<void>((resolve, reject) =>
        port.write(Buffer.concat(parts), (err) => (err ? reject(err) : resolve())),
      );
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
  await new Promise<void>((resolve) => port.close(() => resolve()));
  return { bytes: sent, seconds: elapsed, ndjsonSent, ndjsonReceived: latenciesMs.length, latenciesMs };
}
