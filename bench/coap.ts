// CoAP PUT -> MQTT subscriber: messages/s and latency (CoAP send to MQTT delivery) with 32 requests in flight,
// zephyr2mqtt side by side with Eclipse Ponte 0.0.16 in the same run, plus the gateway's RSS over the run.
// Both servers run as child processes; this process is the load generator and the MQTT subscriber.
//   npx tsx bench/coap.ts [--requests 200000] [--ponte-requests <requests>] [--inflight 32] [--window ack|delivery]
//                         [--floor-requests <requests>] [--subscriber mqttjs|raw]
// Ponte and the floor get as many requests as the gateway by default: the same work (Ponte's memory grows with every
// request, so a shorter Ponte run flatters it on RSS and understates how it slows down).
// --window ack (default): a request is in flight until its CoAP ACK, as a device sees it (the gateway ACKs, then
// publishes). --window delivery: until its MQTT message reached the subscriber, so the window spans the whole path.
// --ponte-requests 0 skips Ponte; --floor-requests 0 skips the floor (bench/_coap-floor.ts: the least a Node process
// can do per request, the ceiling of any Node gateway with this load generator on this machine); GW_NODE_OPTIONS adds node flags to the gateway process (e.g. "--cpu-prof"), GW_LOG=<file>
// sends its stdout there (e.g. for --trace-gc);
// --subscriber raw: the MQTT subscriber is bench/_mqtt-subscriber.ts instead of mqtt.js (less of the client's CPU
// per message, on the cores the servers share with it);
// --before <dir> also runs the gateway from another checkout (an earlier commit) in the same run, for A/B.
// Ponte is installed on demand into bench/peers (its own package.json; never in the root package).
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { CoapLoad } from './_coap-load.js';
import { type CompiledTree, compileForBench } from './_compiled.js';
import { RawSubscriber } from './_mqtt-subscriber.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const peers = join(root, 'bench', 'peers');
const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    'ponte-requests': { type: 'string' },
    'floor-requests': { type: 'string' },
    inflight: { type: 'string', default: '32' },
    window: { type: 'string', default: 'ack' },
    subscriber: { type: 'string', default: 'mqttjs' },
    before: { type: 'string' },
  },
});
const inflight = Number(args.inflight);
if (args.window !== 'delivery' && args.window !== 'ack') throw new Error('--window is delivery or ack');
if (args.subscriber !== 'mqttjs' && args.subscriber !== 'raw') throw new Error('--subscriber is mqttjs or raw');
const windowUntilDelivery = args.window === 'delivery';

interface Server {
  name: string;
  child: ChildProcess;
  coapPort: number;
  mqttPort: number;
  /** CoAP path and MQTT topic for the same logical "device publishes one value". */
  path: string[];
  topic: string;
  /** The gateway's Prometheus endpoint, for its heap figures (Ponte has none). */
  metricsUrl?: string;
  cleanup(): Promise<void>;
}

/** Heap figures of the server process in MB, from its /metrics (prom-client default metrics). */
interface HeapSample {
  newSpace: number;
  /** New space committed (both semi-spaces): V8 grows it under a high allocation rate. */
  newSpaceCommitted: number;
  oldSpace: number;
  oldSpaceCommitted: number;
  largeObject: number;
  /** All V8 heap spaces, committed (what the heap holds of the RSS). */
  heapTotal: number;
  external: number;
  rss: number;
}

interface Result {
  name: string;
  requests: number;
  delivered: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  /** CoAP send -> ACK received: the part of the latency before the gateway answered. */
  ackP50: number;
  /** ACK received -> MQTT delivery: the part of the latency after the gateway answered. */
  afterAckP50: number;
  /** RSS once a quarter of the requests are in (after warm-up growth of heap and allocator arenas). */
  rssStartMb?: number;
  rssMidMb?: number;
  rssEndMb?: number;
  /** Lowest and highest RSS sampled every 250 ms from the 25 % mark to the end (one sample can catch a GC peak). */
  rssLowMb?: number;
  rssHighMb?: number;
  /** Most requests ACKed but not yet delivered to the subscriber, sampled every 250 ms after 25 %: the backlog
   * between the server's answer and the subscriber (its socket buffers, the kernel's, and the subscriber's reads). */
  undeliveredMax: number;
  /** Heap figures at 25 %, 50 %, the end and at the highest RSS sampled every 250 ms after 25 % (gateway only). */
  heap: (HeapSample | undefined)[];
  /** Server CPU seconds (user + system) spent during the run: a load-independent cost per message. */
  cpuSeconds: number;
  /** CPU seconds of this process (load generator + subscriber), which shares the machine's two cores. */
  clientCpuSeconds: number;
}

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof address === 'object' && address ? address.port : 0;
}

async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const { port } = socket.address();
  await new Promise<void>((r) => socket.close(() => r()));
  return port;
}

function rssMb(pid: number | undefined): number {
  if (!pid) return 0;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** utime + stime of a process in seconds (Linux /proc, USER_HZ = 100). */
function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${output.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (pattern.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${output.slice(-2000)}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** The gateway as it ships (compiled JavaScript on plain node, not under tsx), one build per checkout. */
const builds = new Map<string, CompiledTree>();
function compiled(gatewayRoot: string): CompiledTree {
  let tree = builds.get(gatewayRoot);
  if (!tree) {
    tree = compileForBench(gatewayRoot === root ? ['bench/_coap-floor.ts'] : [], gatewayRoot);
    builds.set(gatewayRoot, tree);
  }
  return tree;
}

async function startGateway(gatewayRoot = root, name = 'zephyr2mqtt'): Promise<Server> {
  const dir = await mkdtemp(join(tmpdir(), 'z2m-bench-coap-'));
  const coapPort = await freeUdpPort();
  const mqttPort = await freeTcpPort();
  const httpPort = await freeTcpPort();
  const config = {
    version: 1,
    gateway: { id: 'bench', base_topic: 'zephyr2mqtt', data_dir: join(dir, 'data'), log_level: 'warn' },
    broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: mqttPort }], allow_anonymous: true },
    http: { host: '127.0.0.1', port: httpPort },
    adapters: {
      coap: { enabled: true, bind: '127.0.0.1', port: coapPort },
      serial: { enabled: false },
      ble: { enabled: false },
    },
    devices: [{ id: 'bench', transport: 'coap' }],
  };
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(configPath, stringify(config));
  const child = spawn(
    process.execPath,
    [
      ...(process.env.GW_NODE_OPTIONS?.split(' ').filter(Boolean) ?? []),
      join(compiled(gatewayRoot).out, 'gateway', 'cli.js'),
      'run',
      '--config',
      configPath,
    ],
    {
      cwd: gatewayRoot,
      // GW_LOG=<file>: the gateway's stdout and stderr go to that file (e.g. with GW_NODE_OPTIONS=--trace-gc).
      stdio: process.env.GW_LOG ? ['ignore', openSync(process.env.GW_LOG, 'a'), 'inherit'] : ['ignore', 'pipe', 'pipe'],
    },
  );
  await waitForMqtt(mqttPort, child);
  return {
    name,
    child,
    coapPort,
    mqttPort,
    path: ['ps', 'bench'],
    topic: 'zephyr2mqtt/bench',
    metricsUrl: `http://127.0.0.1:${httpPort}/metrics`,
    cleanup: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function startFloor(): Promise<Server> {
  const coapPort = await freeUdpPort();
  const mqttPort = await freeTcpPort();
  const script = join(compiled(root).out, 'bench', '_coap-floor.js');
  const child = spawn(process.execPath, [script, String(coapPort), String(mqttPort)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /FLOOR READY/, 30_000);
  return {
    name: 'floor: bare Node ACK + PUBLISH',
    child,
    coapPort,
    mqttPort,
    path: ['ps', 'bench'],
    topic: 'zephyr2mqtt/bench',
    cleanup: () => stopChild(child),
  };
}

function ensurePonte(): void {
  if (existsSync(join(peers, 'node_modules', 'ponte', 'package.json'))) return;
  console.error('installing ponte@0.0.16 into bench/peers (once)...');
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts'], {
    cwd: peers,
    stdio: 'inherit',
  });
  if (npm.status !== 0) throw new Error('npm install in bench/peers failed');
}

async function startPonte(): Promise<Server> {
  ensurePonte();
  const coapPort = await freeUdpPort();
  const mqttPort = await freeTcpPort();
  const httpPort = await freeTcpPort();
  const script = `require('ponte')({ http: { port: ${httpPort} }, mqtt: { port: ${mqttPort} }, coap: { port: ${coapPort} }, logger: { level: 60 } }, (err) => { if (err) { console.error(err); process.exit(1); } console.log('PONTE READY'); });`;
  const child = spawn(process.execPath, ['-e', script], { cwd: peers, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /PONTE READY/, 30_000);
  await waitForMqtt(mqttPort, child);
  return {
    name: 'Ponte 0.0.16',
    child,
    coapPort,
    mqttPort,
    path: ['r', 'bench'],
    topic: 'bench',
    cleanup: () => stopChild(child),
  };
}

async function waitForMqtt(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1000 });
      await client.endAsync();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`MQTT on port ${port} did not come up`);
}

async function heapSample(server: Server): Promise<HeapSample | undefined> {
  if (!server.metricsUrl) return undefined;
  try {
    const text = await (await fetch(server.metricsUrl)).text();
    const mb = (re: RegExp): number => Number(re.exec(text)?.[1] ?? Number.NaN) / 1048576;
    const space = (name: string): number =>
      mb(new RegExp(`nodejs_heap_space_size_used_bytes\\{space="${name}"\\} (\\S+)`));
    const committed = (name: string): number =>
      mb(new RegExp(`nodejs_heap_space_size_total_bytes\\{space="${name}"\\} (\\S+)`));
    return {
      newSpace: space('new'),
      newSpaceCommitted: committed('new'),
      oldSpace: space('old'),
      oldSpaceCommitted: committed('old'),
      largeObject: space('large_object'),
      heapTotal: mb(/^\S*nodejs_heap_size_total_bytes(?:\{[^}]*\})? (\S+)$/m),
      external: mb(/^\S*nodejs_external_memory_bytes(?:\{[^}]*\})? (\S+)$/m),
      rss: mb(/^\S*process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m),
    };
  } catch {
    return undefined;
  }
}

/** The benchmark's MQTT subscriber: mqtt.js, or the lean one of bench/_mqtt-subscriber.ts (--subscriber raw). */
async function subscribe(
  server: Server,
  onMessage: (topic: string, payload: Buffer) => void,
): Promise<{ end(): Promise<void> }> {
  if (args.subscriber === 'raw') return RawSubscriber.connect(server.mqttPort, server.topic, onMessage);
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${server.mqttPort}`, { reconnectPeriod: 0 });
  await client.subscribeAsync(server.topic, { qos: 0 });
  client.on('message', onMessage);
  return { end: () => client.endAsync() };
}

async function run(server: Server, requests: number): Promise<Result> {
  /** Send time per request, cleared when its MQTT message arrives (so a repeat delivery is not counted twice). */
  const sentAt = new Float64Array(requests);
  /** Send time per request, kept for the ACK latency (a server may publish before it answers). */
  const requestSentAt = new Float64Array(requests);
  /** When the CoAP ACK of each request arrived (0 = not yet), to see where the latency is spent. */
  const ackedAt = new Float64Array(requests);
  const afterAck: number[] = [];
  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  let delivered = 0;
  let onDelivered: (seq: number) => void = () => {};
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const subscriber = await subscribe(server, (_topic, payload) => {
    const match = /"seq":(\d+)/.exec(payload.toString());
    if (!match) return; // the retained message of an earlier run
    const seq = Number(match[1]);
    if (seq >= requests || sentAt[seq] === 0) return;
    const now = performance.now();
    latencies.push(now - (sentAt[seq] as number));
    // Delivered before its ACK was seen counts as 0: the time the state spends behind the answer.
    afterAck.push(ackedAt[seq] ? Math.max(0, now - (ackedAt[seq] as number)) : 0);
    sentAt[seq] = 0;
    delivered++;
    onDelivered(seq);
    if (delivered === requests) resolveDone();
  });
  const rssStart: number[] = [];
  const rssMid: number[] = [];
  const rssSamples: number[] = [];
  const heapAt: Promise<HeapSample | undefined>[] = [];
  let acked = 0;
  let undeliveredMax = 0;
  /** The /metrics sample taken with the highest RSS after 25 %, to see what the peak consists of. */
  let peak: HeapSample | undefined;
  let sampling = false;
  const sampler = setInterval(() => {
    if (rssStart.length === 0) return;
    const rss = rssMb(server.child.pid);
    rssSamples.push(rss);
    undeliveredMax = Math.max(undeliveredMax, acked - delivered);
    // /metrics only at a new RSS high: a scrape costs the gateway CPU (4 % of its busy time when scraped every 250 ms),
    // and the peak's heap figures are all it is for. The RSS itself comes from /proc, which costs the gateway nothing.
    if (sampling || (peak && rss <= peak.rss)) return;
    sampling = true;
    void heapSample(server).then((h) => {
      sampling = false;
      if (h && (!peak || h.rss > peak.rss)) peak = h;
    });
  }, 250);
  let failures = 0;
  const load = new CoapLoad(server.coapPort, server.path, (seq) => `{"seq":${seq},"temperature":21.5}`, {
    sending(seq) {
      if (seq === Math.floor(requests / 4)) {
        rssStart.push(rssMb(server.child.pid));
        heapAt[0] = heapSample(server);
      }
      if (seq === Math.floor(requests / 2)) {
        rssMid.push(rssMb(server.child.pid));
        heapAt[1] = heapSample(server);
      }
      const now = performance.now();
      sentAt[seq] = now;
      requestSentAt[seq] = now;
    },
    answered(seq, ok) {
      if (!ok) {
        failures++;
        return;
      }
      const ackTime = performance.now();
      ackedAt[seq] = ackTime;
      ackLatencies.push(ackTime - (requestSentAt[seq] as number));
      acked++;
    },
  });
  await load.start();
  onDelivered = (seq) => load.delivered(seq);
  const cpuBefore = cpuSeconds(server.child.pid);
  const clientCpuBefore = process.cpuUsage();
  const started = performance.now();
  await load.run(requests, inflight, windowUntilDelivery);
  await Promise.race([done, new Promise((r) => setTimeout(r, 5000))]);
  const seconds = (performance.now() - started) / 1000;
  const rssEnd = rssMb(server.child.pid);
  heapAt[2] = heapSample(server);
  clearInterval(sampler);
  rssSamples.push(rssEnd);
  const cpu = cpuSeconds(server.child.pid) - cpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  await load.stop();
  await subscriber.end();
  latencies.sort((a, b) => a - b);
  ackLatencies.sort((a, b) => a - b);
  afterAck.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  if (failures > 0) console.error(`${server.name}: ${failures} CoAP requests failed`);
  return {
    name: server.name,
    requests,
    delivered,
    seconds,
    rate: delivered / seconds,
    p50: pct(0.5),
    p99: pct(0.99),
    ackP50: ackLatencies[Math.floor(ackLatencies.length / 2)] ?? Number.NaN,
    afterAckP50: afterAck[Math.floor(afterAck.length / 2)] ?? Number.NaN,
    rssStartMb: rssStart[0],
    rssMidMb: rssMid[0],
    rssEndMb: rssEnd,
    rssLowMb: Math.min(...rssSamples),
    rssHighMb: Math.max(...rssSamples),
    heap: [...(await Promise.all(heapAt)), peak],
    undeliveredMax,
    cpuSeconds: cpu,
    clientCpuSeconds: (clientCpu.user + clientCpu.system) / 1e6,
  };
}

async function measure(start: () => Promise<Server>, requests: number): Promise<Result> {
  const server = await start();
  try {
    // Warm-up so JIT and connection setup are not in the figures.
    await run(server, Math.min(2000, requests));
    return await run(server, requests);
  } finally {
    await server.cleanup();
  }
}

const before = args.before
  ? await measure(() => startGateway(args.before, `zephyr2mqtt before (${args.before})`), Number(args.requests))
  : undefined;
const ours = await measure(() => startGateway(), Number(args.requests));
const ponteRequests = Number(args['ponte-requests'] ?? args.requests);
const ponte = ponteRequests > 0 ? await measure(startPonte, ponteRequests) : undefined;
const floorRequests = Number(args['floor-requests'] ?? args.requests);
const floor = floorRequests > 0 ? await measure(startFloor, floorRequests) : undefined;

const fmt = (n: number | undefined, digits = 1) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
console.log(
  `CoAP PUT (CON, JSON) -> MQTT subscriber, ${inflight} in flight (until ${windowUntilDelivery ? 'MQTT delivery' : 'CoAP ACK'}), loopback IPv4`,
);
console.log(`Machine: ${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}\n`);
console.log(
  '| Server | Requests | Delivered | msgs/s | p50 ms | p99 ms | CoAP ACK p50 ms | ACK→MQTT p50 ms | server CPU µs/msg | msgs per server CPU-s | RSS 25 % / 50 % / end (MB) | RSS growth 25 %→end | RSS low–high after 25 % (MB) | bench client CPU µs/msg |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of [before, ours, ponte, floor]) {
  if (!r) continue;
  const perMsg = (r.cpuSeconds / r.delivered) * 1e6;
  console.log(
    `| ${r.name} | ${r.requests} | ${r.delivered} | ${fmt(r.rate, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.ackP50, 2)} | ${fmt(r.afterAckP50, 2)} | ${fmt(perMsg, 0)} | ${fmt(r.delivered / r.cpuSeconds, 0)} | ${fmt(r.rssStartMb)} / ${fmt(r.rssMidMb)} / ${fmt(r.rssEndMb)} | ${growth(r)} | ${fmt(r.rssLowMb)}–${fmt(r.rssHighMb)} | ${fmt((r.clientCpuSeconds / r.delivered) * 1e6, 0)} |`,
  );
}
const heapRows = [before, ours].filter((r): r is Result => r?.heap.some(Boolean) === true);
if (heapRows.length > 0) {
  console.log(
    '\nGateway memory from its /metrics at 25 % / 50 % / end / the RSS peak (RSS read from /proc every 250 ms after 25 %, /metrics scraped at each new high) (MB): V8 new space used (committed), old space used (committed), large objects (used), V8 heap committed, external (Buffers), RSS; most requests ACKed but not yet delivered',
  );
  console.log(
    '| Server | new space | old space | large objects | heap committed | external | RSS | ACKed, undelivered (max) |',
  );
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of heapRows) {
    const col = (pick: (h: HeapSample) => number) => r.heap.map((h) => fmt(h ? pick(h) : undefined)).join(' / ');
    console.log(
      `| ${r.name} | ${col((h) => h.newSpace)} (${col((h) => h.newSpaceCommitted)}) | ${col((h) => h.oldSpace)} (${col((h) => h.oldSpaceCommitted)}) | ${col((h) => h.largeObject)} | ${col((h) => h.heapTotal)} | ${col((h) => h.external)} | ${col((h) => h.rss)} | ${r.undeliveredMax} |`,
    );
  }
}
function growth(r: Result): string {
  if (!r.rssStartMb || !r.rssEndMb) return '-';
  const pct = ((r.rssEndMb - r.rssStartMb) / r.rssStartMb) * 100;
  return `${pct >= 0 ? '+' : ''}${pct.toFixed(0)} %`;
}
if (ponte) {
  const cpuRatio = ours.delivered / ours.cpuSeconds / (ponte.delivered / ponte.cpuSeconds);
  console.log(
    `\nzephyr2mqtt / Ponte: ${fmt(ours.rate / ponte.rate, 1)}x msgs/s, ${fmt(cpuRatio, 1)}x msgs per CPU-second`,
  );
}
if (ponte && floor) {
  console.log(
    `floor / Ponte: ${fmt(floor.rate / ponte.rate, 1)}x msgs/s (the most any Node server reaches here with this load generator)`,
  );
}
console.log(
  `Load average during the run: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
for (const tree of builds.values()) tree.remove();
process.exit(0);
