// Memory part of bench/ble.ts, run in a child process per case: the gateway as `zephyr2mqtt run` starts it
// (gateway/main.ts runGateway on a config file, JSON logs, dashboard on), with the simulated noble binding,
// permit_join on, then 3 and 6 rounds of adverts from `advertisers` distinct addresses. This process holds no
// MQTT client or test harness, so its RSS is the gateway's. Prints one JSON line with the figures.
//   node --expose-gc bench/_ble-memory.js <advertisers> <max_advertisers>   (or npx tsx bench/_ble-memory.ts ...)
import { tuneRuntime } from '../gateway/runtime/tuning.js';
import { advertiserAddress, bthomeFrame } from './_ble-adverts.js';

// As the CLI does, before any gateway module loads (a static import would be loaded before this line runs).
const runtimeTuning = tuneRuntime();

const { mkdtemp, rm, writeFile } = await import('node:fs/promises');
const { tmpdir } = await import('node:os');
const { extname, join } = await import('node:path');
const { fileURLToPath, pathToFileURL } = await import('node:url');
const { stringify } = await import('yaml');
const { runGateway } = await import('../gateway/main.js');
const { createRootLogger } = await import('../gateway/logger.js');

const ext = extname(fileURLToPath(import.meta.url));
const binding = fileURLToPath(new URL(`../test/sim/ble/binding${ext}`, import.meta.url));
const { world } = (await import(pathToFileURL(binding).href)) as typeof import('../test/sim/ble/binding.js');

async function manyAdvertisers(n: number, maxAdvertisers: number): Promise<Record<string, number>> {
  world.reset();
  const dir = await mkdtemp(join(tmpdir(), 'z2m-bench-ble-'));
  const configPath = join(dir, 'gateway.yaml');
  await writeFile(
    configPath,
    stringify({
      gateway: { id: 'bench', data_dir: join(dir, 'data'), log_level: 'warn' },
      broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }], allow_anonymous: true },
      http: { host: '127.0.0.1', port: 0 },
      adapters: {
        coap: { enabled: false },
        serial: { enabled: false },
        ble: { enabled: true, binding, max_advertisers: maxAdvertisers },
      },
    }),
  );
  const gateway = await runGateway(configPath, createRootLogger('warn'));
  // Started: the heap tuned from here on as in `zephyr2mqtt run`.
  runtimeTuning.started();
  gateway.setPermitJoin(3600); // what bridge/request/permit_join does
  for (let i = 0; i < 200 && gateway.adapterStatuses().ble?.state !== 'running'; i++)
    await new Promise((r) => setTimeout(r, 10));
  if (gateway.adapterStatuses().ble?.state !== 'running') throw new Error('BLE adapter did not start');
  const rss = () => {
    global.gc?.();
    return process.memoryUsage().rss / 2 ** 20;
  };
  const heap = () => process.memoryUsage().heapUsed / 2 ** 20;
  const baseline = rss();
  const heapBaseline = heap();
  // Adverts go straight out of the binding (what its radio would report), so the simulator itself allocates
  // next to nothing per advertiser and the RSS is the gateway's.
  const bindings = [...world.bindings];
  const data = bthomeFrame(1);
  const advertise = async (rounds: number) => {
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < n; i++) {
        const addr = advertiserAddress(i + 1);
        const adv = { localName: `x${i}`, serviceData: [{ uuid: 'fcd2', data }], serviceUuids: [] as string[] };
        for (const b of bindings) b.emit('discover', addr.replace(/:/g, ''), addr, 'random', true, adv, -70, false);
        if (i % 500 === 499) await new Promise((r) => setImmediate(r));
      }
    }
  };
  await advertise(3);
  await new Promise((r) => setTimeout(r, 300));
  const afterThree = rss();
  await advertise(3);
  await new Promise((r) => setTimeout(r, 300));
  const details = gateway.adapterStatuses().ble?.details as Record<string, number>;
  const after = rss();
  const heapAfter = heap();
  await gateway.stop();
  await rm(dir, { recursive: true, force: true });
  return {
    baseline,
    afterThree,
    after,
    heapBaseline,
    heapAfter,
    tracked: details.advertisers_tracked!,
    evicted: details.advertisers_evicted!,
  };
}

const result = await manyAdvertisers(Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 2000));
console.log(JSON.stringify({ bleMemory: result }));
process.exit(0);
