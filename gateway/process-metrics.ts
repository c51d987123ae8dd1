// The process and Node.js metrics of prom-client's collectDefaultMetrics(), but for those the gateway replaces
// (metrics.ts: the start time and the event-loop lag), registered one by one so that prom-client's index is never
// loaded (prometheus.ts). The process CPU counters are the gateway's own, as prom-client's read them, without its
// exemplar support and the tracing API that comes with it.
import { Counter, defaultMetric, type Registry } from './prometheus.js';

/** prom-client's default metrics, by the file that registers them, in its order; `processResources` needs Node's
 * process.getActiveResourcesInfo (Node >= 17). */
const PROM_CLIENT_DEFAULT_METRICS = [
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'processResources',
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
] as const;

export function registerProcessMetrics(registry: Registry, prefix: string): void {
  registerCpuCounters(registry, prefix);
  for (const file of PROM_CLIENT_DEFAULT_METRICS) defaultMetric(file)(registry, { prefix });
}

/** process_cpu_user_seconds_total, _system_ and the sum of both, as prom-client names and computes them. */
function registerCpuCounters(registry: Registry, prefix: string): void {
  let last = process.cpuUsage();
  const counter = (name: string, help: string, collect?: () => void) =>
    new Counter({ name: `${prefix}${name}`, help, registers: [registry], ...(collect ? { collect } : {}) });
  // The user counter is collected first, and takes the readings for all three.
  const user = counter('process_cpu_user_seconds_total', 'Total user CPU time spent in seconds.', () => {
    const now = process.cpuUsage();
    const userSeconds = (now.user - last.user) / 1e6;
    const systemSeconds = (now.system - last.system) / 1e6;
    last = now;
    user.inc(userSeconds);
    system.inc(systemSeconds);
    total.inc(userSeconds + systemSeconds);
  });
  const system = counter('process_cpu_system_seconds_total', 'Total system CPU time spent in seconds.');
  const total = counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.');
}
