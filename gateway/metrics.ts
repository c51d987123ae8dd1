// Prometheus metrics of the gateway (served on /metrics).
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { registerProcessMetrics } from './process-metrics.js';
import { Counter, Gauge, Registry } from './prometheus.js';

export interface GatewayMetrics {
  registry: Registry;
  messages: Counter<'adapter' | 'direction'>;
  decodeErrors: Counter<'adapter' | 'reason'>;
  /** Properties dropped from device states to keep them within api.max_state_properties / max_state_bytes. */
  stateEvictions: Counter<'adapter'>;
  devicesOnline: Gauge;
  devicesConfigured: Gauge;
  brokerClients: Gauge;
  commandErrors: Counter<'adapter'>;
  adapterRestarts: Counter<'adapter'>;
  configReloads: Counter<'result'>;
  /** Unknown devices on the blocklist: announcements dropped, registrations and /ps requests refused. */
  blocked: Counter<'adapter'>;
  /** Creates an enabled adapter's series at 0, so that rate() and increase() see its first event. */
  adapterEnabled(kind: string): void;
  /** Stops the event-loop delay sampler. */
  close(): void;
}

/** command_errors_total's adapter for a bridge/request that failed. */
export const BRIDGE_REQUEST = 'bridge';
/** command_errors_total's adapter for a command to a device that is not in the config. */
export const NO_ADAPTER = 'none';

const LOOP_DELAY_RESOLUTION_MS = 20;

/** Node's sampler records the time between its timer's runs, the resolution included: an idle loop shows 20 ms. */
export function lagSeconds(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1e3);
}

const PREFIX = 'zephyr2mqtt_';

/** prom-client's gauges named like counters (promtool rejects the _total suffix); the names without it stay. */
const MISNAMED_DEFAULT_GAUGES = ['handles', 'requests', 'resources'].map(
  (what) => `${PREFIX}nodejs_active_${what}_total`,
);

interface LagFigures {
  p99: number;
  max: number;
}

/**
 * The event-loop delay since the previous scrape, read by two gauges. The histogram is read and reset once per
 * scrape, whichever gauge is collected first: a gauge collected twice since the last reset starts a new window.
 */
function lagWindow(loopDelay: IntervalHistogram): (reader: 'p99' | 'max') => LagFigures {
  let figures: LagFigures = { p99: 0, max: 0 };
  let window = 0;
  const seen = { p99: 0, max: 0 };
  return (reader) => {
    if (seen[reader] === window) {
      window++;
      // Scrapes closer together than one sample interval keep the previous figures: an empty histogram reports
      // nonsense (a p99 above its max of 0).
      if (loopDelay.count > 0) {
        figures = { p99: lagSeconds(loopDelay.percentile(99)), max: lagSeconds(loopDelay.max) };
        loopDelay.reset();
      }
    }
    seen[reader] = window;
    return figures;
  };
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  // zephyr2mqtt_process_*, zephyr2mqtt_nodejs_*, but for the event-loop lag (zephyr2mqtt_event_loop_lag_*_seconds
  // below replace prom-client's, which report its sampling interval as lag) and the start time (computed at each
  // scrape: a board without an RTC would keep its 1970).
  registerProcessMetrics(registry, PREFIX);
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  new Gauge({
    name: `${PREFIX}process_start_time_seconds`,
    help: 'Start time of the process since unix epoch in seconds.',
    registers: [registry],
    collect() {
      // At each scrape: NTP setting the clock after start-up moves the start time with it.
      this.set(Math.round(Date.now() / 1000 - process.uptime()));
    },
  });
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  const lag = lagWindow(loopDelay);
  new Gauge({
    name: 'zephyr2mqtt_event_loop_lag_p99_seconds',
    help: 'Event-loop delay since the previous scrape: 99th percentile of 20 ms samples',
    registers: [registry],
    collect() {
      this.set(lag('p99').p99);
    },
  });
  new Gauge({
    name: 'zephyr2mqtt_event_loop_lag_max_seconds',
    help: 'Event-loop delay since the previous scrape: longest of 20 ms samples',
    registers: [registry],
    collect() {
      this.set(lag('max').max);
    },
  });
  const messages = new Counter({
    name: 'zephyr2mqtt_messages_total',
    help: 'Device messages per adapter and direction (in = from a device, once decoded; out = to a device)',
    labelNames: ['adapter', 'direction'],
    registers: [registry],
  });
  const decodeErrors = new Counter({
    name: 'zephyr2mqtt_decode_errors_total',
    help: 'Device bytes that could not be decoded or were refused, per adapter and reason',
    labelNames: ['adapter', 'reason'],
    registers: [registry],
  });
  const commandErrors = new Counter({
    name: 'zephyr2mqtt_command_errors_total',
    help: 'Failed commands (/set, /get) and device requests an adapter ran (device/smp, device/ota_update...), per adapter; other failed bridge requests as adapter="bridge"',
    labelNames: ['adapter'],
    registers: [registry],
  });
  const adapterRestarts = new Counter({
    name: 'zephyr2mqtt_adapter_restarts_total',
    help: 'Adapter restarts after a failure',
    labelNames: ['adapter'],
    registers: [registry],
  });
  const configReloads = new Counter({
    name: 'zephyr2mqtt_config_reloads_total',
    help: 'Config reloads (SIGHUP, bridge/request/config/reload, onboarding) by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const stateEvictions = new Counter({
    name: 'zephyr2mqtt_state_properties_evicted_total',
    help: 'Properties dropped from device states to keep them within api.max_state_properties and max_state_bytes',
    labelNames: ['adapter'],
    registers: [registry],
  });
  const blocked = new Counter({
    name: 'zephyr2mqtt_blocked_total',
    help: 'Unknown devices on the blocklist, per adapter: announcements dropped, registrations and /ps requests refused',
    labelNames: ['adapter'],
    registers: [registry],
  });
  for (const result of ['ok', 'rejected']) configReloads.inc({ result }, 0);
  for (const adapter of [BRIDGE_REQUEST, NO_ADAPTER]) commandErrors.inc({ adapter }, 0);
  return {
    registry,
    messages,
    decodeErrors,
    stateEvictions,
    devicesOnline: new Gauge({ name: 'zephyr2mqtt_devices_online', help: 'Devices online', registers: [registry] }),
    devicesConfigured: new Gauge({
      name: 'zephyr2mqtt_devices_configured',
      help: 'Devices in the config',
      registers: [registry],
    }),
    brokerClients: new Gauge({
      name: 'zephyr2mqtt_broker_clients',
      help: 'MQTT clients connected to the embedded broker',
      registers: [registry],
    }),
    commandErrors,
    adapterRestarts,
    configReloads,
    blocked,
    adapterEnabled(adapter) {
      blocked.inc({ adapter }, 0);
      adapterRestarts.inc({ adapter }, 0);
      commandErrors.inc({ adapter }, 0);
      stateEvictions.inc({ adapter }, 0);
      for (const direction of ['in', 'out']) messages.inc({ adapter, direction }, 0);
    },
    close: () => loopDelay.disable(),
  };
}
