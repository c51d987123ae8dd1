// BLE adapter benchmark: advert decode + publish throughput and memory with many distinct advertisers, driven
// by the simulated noble binding (test/sim/ble) through the real noble into (a) the adapter alone with a counting
// context and (b) the whole gateway (aedes publish, one MQTT subscriber). Issue 5 names no peer; (a) is the
// baseline that shows what the gateway adds. Usage: npx tsx bench/ble.ts [adverts=60000] [advertisers=1000]
import { spawnSync } from 'node:child_process';
import { cpus } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BleAdapter } from '../adapters/ble/ble-adapter.js';
import { bleAdapterConfigSchema } from '../adapters/ble/config.js';
import type { DeviceConfigOf } from '../gateway/adapter.js';
import { startTestGateway } from '../test/helpers/gateway.js';
import { world } from '../test/sim/ble/binding.js';
import { bthomeAdvertising } from '../test/sim/ble/peripherals.js';
import { SimPeripheral } from '../test/sim/ble/sim-peripheral.js';
import { advertiserAddress, bthomeFrame } from './_ble-adverts.js';
import { compileForBench } from './_compiled.js';
import { countingContext } from './_counting-context.js';

const ADVERTS = Number(process.argv[2] ?? 60_000);
const ADVERTISERS = Number(process.argv[3] ?? 1000);
const CONFIGURED = 50;
// .ts under tsx, .js when the bench itself runs compiled (node, no tsx: the RSS figure without the transpiler).
const ext = extname(fileURLToPath(import.meta.url));
const binding = fileURLToPath(new URL(`../test/sim/ble/binding${ext}`, import.meta.url));

function sensors(n: number, prefix: string): SimPeripheral[] {
  return Array.from({ length: n }, (_, i) => {
    const p = new SimPeripheral({
      address: advertiserAddress(i),
      connectable: false,
      advertising: bthomeAdvertising(`${prefix}${i}`, bthomeFrame(0)),
    });
    world.add(p);
    return p;
  });
}

const devices = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `s${i}`, transport: 'ble', match: { address: advertiserAddress(i) } }));

/** Emits `count` adverts round-robin, yielding to the event loop every `batch` so async publishes can drain. */
async function drive(ps: SimPeripheral[], count: number, batch = 500): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let n = 0; n < count; n++) {
    const p = ps[n % ps.length]!;
    p.advertising = bthomeAdvertising(`s${n % ps.length}`, bthomeFrame(n));
    world.advertise(p);
    if (n % batch === batch - 1) await new Promise((r) => setImmediate(r));
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function adapterOnly(): Promise<{ rate: number; telemetry: number }> {
  world.reset();
  const ps = sensors(CONFIGURED, 's');
  const { ctx, counts } = countingContext('ble', '/tmp', () => devices(CONFIGURED) as DeviceConfigOf[]);
  const adapter = new BleAdapter(bleAdapterConfigSchema.parse({ binding }), ctx);
  await adapter.start();
  await waitRunning(() => adapter.status().state);
  const secs = await drive(ps, ADVERTS);
  await adapter.stop();
  return { rate: ADVERTS / secs, telemetry: counts.telemetry };
}

async function waitRunning(state: () => string): Promise<void> {
  for (let i = 0; i < 200 && state() !== 'running'; i++) await new Promise((r) => setTimeout(r, 10));
  if (state() !== 'running') throw new Error(`adapter did not start: ${state()}`);
}

async function fullGateway(): Promise<{ rate: number; received: number; drainRate: number }> {
  world.reset();
  const ps = sensors(CONFIGURED, 's');
  const gw = await startTestGateway({
    adapters: { ble: { enabled: true, binding } },
    devices: devices(CONFIGURED),
  } as Parameters<typeof startTestGateway>[0]);
  const client = await gw.connect();
  let received = 0;
  await client.subscribeAsync('zephyr2mqtt/+');
  client.on('message', () => {
    received++;
  });
  await waitRunning(() => gw.gateway.adapterStatuses().ble?.state ?? 'stopped');
  const t0 = process.hrtime.bigint();
  const secs = await drive(ps, ADVERTS);
  // Drained when the subscriber has the last state of the last sensor: bounded wait.
  for (let i = 0; i < 3000 && received < ADVERTS; i++) await new Promise((r) => setTimeout(r, 10));
  const drainSecs = Number(process.hrtime.bigint() - t0) / 1e9;
  await gw.stop();
  return { rate: ADVERTS / secs, received, drainRate: received / drainSecs };
}

/**
 * The memory rows run in a child process (bench/_ble-memory.ts) so the throughput runs do not inflate its RSS, as
 * compiled JavaScript (the way the gateway ships; tsx's loader alone adds about 30 MB).
 */
function inChild(build: string, n: number, max: number): Record<string, number> {
  const out = spawnSync(
    process.execPath,
    ['--expose-gc', join(build, 'bench/_ble-memory.js'), String(n), String(max)],
    { encoding: 'utf8' },
  );
  const line = out.stdout.split('\n').find((l) => l.startsWith('{"bleMemory"'));
  if (!line) throw new Error(`memory run failed: ${out.stderr}`);
  return (JSON.parse(line) as { bleMemory: Record<string, number> }).bleMemory;
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(
  `Machine: ${cpus().length} CPUs, ${cpu}; Node ${process.version}; ${ADVERTS} adverts over ${CONFIGURED} BTHome sensors\n`,
);
const a = await adapterOnly();
const g = await fullGateway();
const compiled = compileForBench(['bench/_ble-memory.ts', 'bench/_ble-adverts.ts', 'test/sim/ble']);
const m1 = inChild(compiled.out, ADVERTISERS, 2000);
const m2 = inChild(compiled.out, 20_000, 2000);
compiled.remove();
const mb = (x: number | undefined) => `${(x ?? 0).toFixed(1)} MB`;
console.log('| Case | Result |');
console.log('|---|---|');
console.log(
  `| adapter only: sim binding → noble → decode → ctx.telemetry | ${Math.round(a.rate).toLocaleString('en')} adverts/s |`,
);
console.log(
  `| gateway: sim binding → noble → decode → state merge → aedes publish | ${Math.round(g.rate).toLocaleString('en')} adverts/s |`,
);
console.log(
  `| gateway, until one MQTT subscriber received every state message | ${Math.round(g.drainRate).toLocaleString('en')} msgs/s (${g.received}/${ADVERTS}) |`,
);
const memoryRow = (label: string, m: Record<string, number>) =>
  console.log(
    `| ${label} | idle ${mb(m.baseline)} → ${mb(m.afterThree)} after 3 rounds → ${mb(m.after)} after 6; heap ${mb(m.heapBaseline)} → ${mb(m.heapAfter)}; ${m.tracked} tracked, ${m.evicted} evicted |`,
  );
memoryRow(`RSS (compiled), ${ADVERTISERS.toLocaleString('en')} distinct advertisers, permit_join on`, m1);
memoryRow('RSS (compiled), 20,000 distinct advertisers, max_advertisers 2,000', m2);
process.exit(0);
