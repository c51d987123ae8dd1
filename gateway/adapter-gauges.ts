// The state and status figures of each adapter the gateway runs, as gauges read from its status() at scrape time.
import type { AdapterStatus } from './adapter.js';
import { adapterStatusPayload } from './api/topics.js';
import { Gauge, type Registry } from './prometheus.js';
import { statusFigures } from './status-figures.js';

const STATES = adapterStatusPayload.shape.state.options;

/**
 * `read` gives the statuses of the adapters the gateway runs, by kind; it is called once per scrape, for both gauges.
 * Each collect starts from no series, so an adapter that is disabled (or a figure it no longer reports) leaves none
 * behind.
 */
export function registerAdapterGauges(registry: Registry, read: () => ReadonlyMap<string, AdapterStatus>): void {
  const statuses = oncePerScrape(read);
  new Gauge({
    name: 'zephyr2mqtt_adapter_state',
    help: 'State of each enabled adapter: 1 for the one it is in (starting, running, unavailable, stopped, failed), 0 for the others',
    labelNames: ['adapter', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [adapter, status] of statuses())
        for (const state of STATES) this.set({ adapter, state }, status.state === state ? 1 : 0);
    },
  });
  new Gauge({
    name: 'zephyr2mqtt_adapter_figure',
    help: 'Figures each enabled adapter reports in its status details (/readyz, bridge/info), per adapter and figure (nested keys joined with _)',
    labelNames: ['adapter', 'figure'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [adapter, status] of statuses())
        for (const [figure, value] of statusFigures(status.details)) this.set({ adapter, figure }, value);
    },
  });
}

/**
 * `read`, called by the first collect of a scrape and its answer reused by the others, so that each adapter's status()
 * (LwM2M's walks all its registrations) runs once per scrape and the two gauges tell of the same statuses. A scrape
 * (registry.metrics(), getMetricsAsJSON()) calls every metric's collect() in one synchronous run, before it awaits
 * anything, so the answer is dropped at the next microtask: the next scrape reads afresh.
 */
function oncePerScrape<T>(read: () => T): () => T {
  let kept: { value: T } | undefined;
  return () => {
    if (kept) return kept.value;
    const value = read();
    kept = { value };
    queueMicrotask(() => {
      kept = undefined;
    });
    return value;
  };
}
