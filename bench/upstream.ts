// Upstream bridge benchmark: live QoS 1 forwarding to Mosquitto and draining a backlog after an outage,
// side by side with a Mosquitto-to-Mosquitto bridge (`connection` block) doing the same work in the same run.
// Usage: npx tsx bench/upstream.ts [--live N] [--backlog N] [--warm-up N]
//   (defaults: 100000 live, 1000000 backlog, 20000 warm-up messages through each bridge before measuring)
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import mqtt, { type MqttClient } from 'mqtt';
import { ChildGateway } from '../test/upstream/brokers.js';
import { Mosquitto } from '../test/upstream/mosquitto.js';
import { tempDir } from '../test/upstream/queue-helpers.js';

const { values } = parseArgs({
  options: {
    live: { type: 'string', default: '100000' },
    backlog: { type: 'string', default: '1000000' },
    'warm-up': { type: 'string', default: '20000' },
  },
});
// A gateway runs for days: the rates are of a warmed-up process (its JIT compilers are off until traffic starts,
// see gateway/runtime/optimizing-compilers.ts), and Mosquitto gets the same traffic first.
const WARM_UP = Number(values['warm-up']);
const LIVE = Number(values.live);
const BACKLOG = Number(values.backlog);
const WINDOW = 1000; // outstanding QoS 1 publishes of the simulated devices
const DEVICES = 100;

const payloadOf = (i: number) =>
  JSON.stringify({
    temperature: 21.53,
    humidity: 48.21,
    pressure: 1013.2,
    battery: 97,
    linkquality: 142,
    seq: i,
    ts: 1764000000000 + i,
  });
const topicOf = (i: number) => `zephyr2mqtt/sensor-${String(i % DEVICES).padStart(4, '0')}`;

async function publishN(url: string, n: number, offset: number): Promise<{ ms: number; bytes: number }> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  const start = performance.now();
  let bytes = 0;
  await new Promise<void>((resolve, reject) => {
    let next = 0;
    let done = 0;
    const pump = () => {
      while (next < n && next - done < WINDOW) {
        const i = offset + next++;
        const payload = payloadOf(i);
        bytes += payload.length;
        client.publish(topicOf(i), payload, { qos: 1 }, (err) => {
          if (err) return reject(err);
          if (++done === n) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const ms = performance.now() - start;
  await client.endAsync();
  return { ms, bytes };
}

/** A persistent QoS 1 session on the upstream that counts what arrives per remote prefix. */
class Observer {
  counts = new Map<string, number>();
  #client: MqttClient | undefined;
  #waiters: Array<() => void> = [];

  async connect(url: string): Promise<void> {
    const client = mqtt.connect(url, {
      reconnectPeriod: 0,
      clientId: 'bench-observer',
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
    });
    client.on('message', (topic) => {
      const prefix = topic.slice(0, topic.indexOf('/'));
      this.counts.set(prefix, (this.counts.get(prefix) ?? 0) + 1);
      for (const w of this.#waiters.splice(0)) w();
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(['gw1/#', 'peer/#'], { qos: 1 });
    this.#client = client;
  }

  async close(): Promise<void> {
    await this.#client?.endAsync(true);
  }

  async waitFor(prefix: string, n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.counts.get(prefix) ?? 0) < n) {
      if (Date.now() > deadline) throw new Error(`${prefix}: ${this.counts.get(prefix) ?? 0} of ${n} arrived`);
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 1000).unref();
      });
    }
  }
}

async function rssMb(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** CPU time (user + system) of a process so far, in ms. */
async function cpuMs(pid: number | undefined): Promise<number> {
  if (!pid) return 0;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10; // clock ticks of 10 ms
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const f of await readdir(dir).catch(() => [])) total += (await stat(join(dir, f))).size;
  return total;
}

function sampleRss(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const t = setInterval(async () => {
    peak = Math.max(peak, await rssMb(pid));
  }, 200);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

const rate = (n: number, ms: number) => Math.round((n / ms) * 1000);

async function main(): Promise<void> {
  const dir = await tempDir('z2m-bench-upstream-');
  const upstream = new Mosquitto(dir, '', 'upstream');
  const observer = new Observer();
  // The gateway side runs bundled on plain node (no TypeScript loader in the process) so its RSS is what a
  // deployed gateway would use.
  const script = join(import.meta.dirname, '../node_modules/.cache/zephyr2mqtt-bench/bridge-gateway.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '../test/upstream/fixtures/bridge-gateway.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: script,
    logLevel: 'error',
  });
  const nodeOptions = process.env.GW_NODE_OPTIONS ?? '';
  const gateway = new ChildGateway({ DATA_DIR: join(dir, 'gw'), UPSTREAM_URL: '', NODE_OPTIONS: nodeOptions }, script);
  let peerLocal: Mosquitto | undefined;
  try {
    await upstream.start();
    await observer.connect(upstream.url);
    gateway.env.UPSTREAM_URL = upstream.url;
    await gateway.start();
    peerLocal = new Mosquitto(
      dir,
      [
        'connection peer',
        `address 127.0.0.1:${upstream.port}`,
        'topic # out 1 zephyr2mqtt/ peer/',
        'cleansession false',
        'bridge_protocol_version mqttv311',
        'restart_timeout 1 2',
        'start_type automatic',
      ].join('\n'),
      'peer-local',
    );
    await peerLocal.start();

    // Warm-up: both links up and carrying traffic.
    await publishN(gateway.url, WARM_UP, 0);
    await observer.waitFor('gw1', WARM_UP, 120_000);
    await publishN(peerLocal.url, WARM_UP, 0);
    await observer.waitFor('peer', WARM_UP, 120_000);
    observer.counts.clear();

    // Live forwarding. Mosquitto never syncs its queue; the second zephyr2mqtt row relaxes fsync to match more
    // closely (fsync: interval, a power cut can lose 200 ms of acknowledged messages).
    const relaxed = new ChildGateway(
      {
        DATA_DIR: join(dir, 'gw-interval'),
        UPSTREAM_URL: upstream.url,
        QUEUE_FSYNC: 'interval',
        UPSTREAM_CLIENT_ID: 'zephyr2mqtt-gw1-fsync-interval',
        NODE_OPTIONS: nodeOptions,
      },
      script,
    );
    await relaxed.start();
    await publishN(relaxed.url, WARM_UP, 0);
    await observer.waitFor('gw1', WARM_UP, 120_000);
    const live: Record<string, { ms: number; cpu: number }> = {};
    for (const [name, url, prefix, pid] of [
      ['zephyr2mqtt bridge', gateway.url, 'gw1', gateway.pid],
      ['zephyr2mqtt bridge, fsync interval', relaxed.url, 'gw1', relaxed.pid],
      ['mosquitto bridge', peerLocal.url, 'peer', peerLocal.pid],
    ] as const) {
      observer.counts.clear();
      const cpu0 = await cpuMs(pid);
      const start = performance.now();
      await publishN(url, LIVE, 0);
      await observer.waitFor(prefix, LIVE, 600_000);
      live[name] = { ms: performance.now() - start, cpu: (await cpuMs(pid)) - cpu0 };
    }

    await relaxed.kill('SIGTERM');

    // Backlog drain: upstream down, devices keep publishing, upstream back.
    const drain: Record<
      string,
      { ingestMs: number; drainMs: number; rss: number; disk?: number; payload: number; cpu: number }
    > = {};
    for (const [name, url, prefix, pid] of [
      ['zephyr2mqtt bridge', gateway.url, 'gw1', gateway.pid],
      ['mosquitto bridge', peerLocal.url, 'peer', peerLocal.pid],
    ] as const) {
      observer.counts.clear();
      await observer.close();
      await upstream.stop('SIGTERM');
      const queueDir = join(dir, 'gw', 'upstream', 'queue');
      const diskBefore = await dirBytes(queueDir);
      const ingest = await publishN(url, BACKLOG, LIVE);
      const disk = prefix === 'gw1' ? (await dirBytes(queueDir)) - diskBefore : undefined;
      const sampler = sampleRss(pid);
      const cpu0 = await cpuMs(pid);
      const start = performance.now();
      await upstream.start(upstream.port);
      await observer.connect(upstream.url);
      await observer.waitFor(prefix, BACKLOG, 1_800_000);
      const drainMs = performance.now() - start;
      const cpu = (await cpuMs(pid)) - cpu0;
      drain[name] = { ingestMs: ingest.ms, drainMs, rss: sampler.stop(), disk, payload: ingest.bytes, cpu };
    }

    const cpu = cpus()[0]?.model ?? 'unknown';
    console.log(`machine: ${cpus().length} CPUs, ${cpu}; node ${process.version}; queue fsync: always (default)`);
    console.log(`gateway node options: ${nodeOptions || '(none)'} (set GW_NODE_OPTIONS)`);
    console.log(`command: npx tsx bench/upstream.ts --live ${LIVE} --backlog ${BACKLOG} --warm-up ${WARM_UP}\n`);
    console.log('| test | zephyr2mqtt bridge | mosquitto bridge | ratio |');
    console.log('|---|---|---|---|');
    const z = live['zephyr2mqtt bridge']!;
    const m = live['mosquitto bridge']!;
    const zi = live['zephyr2mqtt bridge, fsync interval']!;
    console.log(
      `| live QoS 1 forwarding, ${LIVE} msgs (msgs/s) | ${rate(LIVE, z.ms)} | ${rate(LIVE, m.ms)} | ${(m.ms / z.ms).toFixed(2)}x |`,
    );
    console.log(
      `| live QoS 1 forwarding, queue fsync: interval (msgs/s) | ${rate(LIVE, zi.ms)} | ${rate(LIVE, m.ms)} | ${(m.ms / zi.ms).toFixed(2)}x |`,
    );
    const zd = drain['zephyr2mqtt bridge']!;
    const md = drain['mosquitto bridge']!;
    console.log(
      `| backlog ingest while upstream down, ${BACKLOG} msgs (msgs/s) | ${rate(BACKLOG, zd.ingestMs)} | ${rate(BACKLOG, md.ingestMs)} | ${(md.ingestMs / zd.ingestMs).toFixed(2)}x |`,
    );
    console.log(
      `| backlog drain after outage, ${BACKLOG} msgs (msgs/s) | ${rate(BACKLOG, zd.drainMs)} | ${rate(BACKLOG, md.drainMs)} | ${(md.drainMs / zd.drainMs).toFixed(2)}x |`,
    );
    const us = (cpu: number, n: number) => ((cpu * 1000) / n).toFixed(1);
    console.log(
      `| CPU time of the bridging process, live (us/msg) | ${us(z.cpu, LIVE)} (fsync interval: ${us(zi.cpu, LIVE)}) | ${us(m.cpu, LIVE)} | |`,
    );
    console.log(
      `| CPU time of the bridging process, drain (us/msg) | ${us(zd.cpu, BACKLOG)} | ${us(md.cpu, BACKLOG)} | |`,
    );
    console.log(`| peak RSS during drain (MB) | ${zd.rss.toFixed(0)} | ${md.rss.toFixed(0)} | |`);
    console.log(
      `| queue on disk / payload bytes | ${((zd.disk ?? 0) / 1e6).toFixed(1)} MB / ${(zd.payload / 1e6).toFixed(1)} MB = ${((zd.disk ?? 0) / zd.payload).toFixed(2)}x | in memory | |`,
    );
  } finally {
    await observer.close().catch(() => {});
    await gateway.kill('SIGKILL');
    await peerLocal?.stop();
    await upstream.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
