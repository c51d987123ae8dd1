// The gateway's process metrics are prom-client's defaults, registered without loading prom-client's index (and the
// Pushgateway, cluster and tracing modules it brings): the same names, types and help, and the CPU counters count.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../../gateway/metrics.js';
import { sampleValue } from './prom-text.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PREFIX = 'zephyr2mqtt_';

/** The `# HELP` and `# TYPE` lines of the process_* and nodejs_* metrics in an exposition. */
function descriptions(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => new RegExp(`^# (HELP|TYPE) ${PREFIX}(process|nodejs)_`).test(line))
    .sort();
}

describe('process metrics', () => {
  let metrics: GatewayMetrics | undefined;
  afterEach(() => {
    metrics?.close();
    metrics = undefined;
  });

  it("are prom-client's defaults but the event-loop lag and the misnamed active counts, with the same help", async () => {
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs, prefix: PREFIX, eventLoopMonitoringPrecision: 2 ** 31 - 1 });
    const expected = descriptions(await theirs.metrics()).filter(
      (line) => !/_eventloop_lag|_active_(handles|requests|resources)_total /.test(line),
    );
    theirs.clear();
    metrics = createMetrics();
    expect(descriptions(await metrics.registry.metrics())).toEqual(expected);
  });

  it('count the CPU time of the process, user and system, and their sum', async () => {
    metrics = createMetrics();
    const read = async () => {
      const text = await (metrics as GatewayMetrics).registry.metrics();
      return ['user_', 'system_', ''].map((kind) => sampleValue(text, `${PREFIX}process_cpu_${kind}seconds_total`));
    };
    const [user0 = 0] = await read();
    const before = process.cpuUsage();
    for (let start = performance.now(); performance.now() - start < 50; ) JSON.parse(JSON.stringify({ a: [1, 2] }));
    const spent = process.cpuUsage(before);
    const [user = 0, system = 0, total = 0] = await read();
    expect(user - user0).toBeGreaterThanOrEqual(spent.user / 1e6 - 1e-3);
    expect(total).toBeCloseTo(user + system, 5);
  });

  it("are registered without loading prom-client's index or @opentelemetry/api", () => {
    const script = `
      import { createRequire } from 'node:module';
      await import('./gateway/controller.ts'); // and with it every module of the gateway that registers metrics
      const { createMetrics } = await import('./gateway/metrics.ts');
      const metrics = createMetrics();
      await metrics.registry.metrics();
      metrics.close();
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    const loaded = JSON.parse(run.stdout) as string[];
    expect(loaded.some((file) => file.endsWith(join('prom-client', 'lib', 'registry.js')))).toBe(true);
    expect(loaded.filter((file) => /prom-client[/\\]index\.js$|@opentelemetry|pushgateway/.test(file))).toEqual([]);
  });

  it('take prom-client values only from gateway/prometheus.ts (its types may come from anywhere)', () => {
    const offenders: string[] = [];
    const scan = (dir: string): void => {
      for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) scan(path);
        else if (path.endsWith('.ts') && path !== join('gateway', 'prometheus.ts')) {
          const text = readFileSync(join(ROOT, path), 'utf8');
          if (/^import (?!type )[^;]*from 'prom-client'/m.test(text)) offenders.push(path);
        }
      }
    };
    for (const dir of ['gateway', 'adapters']) scan(dir);
    expect(offenders).toEqual([]);
  });
});
