// The state and status figures of each adapter the gateway runs, as gauges read from its status() at scrape time.
import { Gauge, type Registry } from 'prom-client';
import type { AdapterStatus } from './adapter.js';
import { adapterStatusPayload } from './api/topics.js';
import { statusFigures } from './status-figures.js';

const STATES = adapterStatusPayload.shape.state.options;

/**
 * `statuses` gives the adapters the gateway runs, by kind. Each collect starts from no series, so an adapter that is
 * disabled (or a figure it no longer reports) leaves none behind.
 */
export function registerAdapterGauges(registry: Registry, statuses: () => ReadonlyMap<string, AdapterStatus>): void {
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
