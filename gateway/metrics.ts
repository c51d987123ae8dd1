// Prometheus metrics of the gateway (served on /metrics).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  messages: Counter<'adapter' | 'direction'>;
  decodeErrors: Counter<'adapter' | 'reason'>;
  devicesOnline: Gauge;
  devicesConfigured: Gauge;
  brokerClients: Gauge;
  commandErrors: Counter<'adapter'>;
  adapterRestarts: Counter<'adapter'>;
  configReloads: Counter<'result'>;
  /** Stops the event-loop delay sampler. */
  close(): void;
}

const LOOP_DELAY_RESOLUTION_MS = 20;

/** Node's sampler records the time between its timer's runs, the resolution included: an idle loop shows 20 ms. */
export function lagSeconds(sampleNs: number): number {
  return Math.max(0, sampleNs / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1e3);
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  // zephyr2mqtt_process_*, zephyr2mqtt_nodejs_*. prom-client samples the event-loop delay for its nodejs_eventloop_lag_*
  // with a timer of its own, every 10 ms by default: 100 wake-ups a second of an idle gateway, next to the 20 ms one
  // below. At 100 ms it is 10; zephyr2mqtt_event_loop_lag_seconds keeps the 20 ms resolution.
  collectDefaultMetrics({ register: registry, prefix: 'zephyr2mqtt_', eventLoopMonitoringPrecision: 100 });
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
  new Gauge({
    name: 'zephyr2mqtt_event_loop_lag_seconds',
    help: 'Event-loop delay since the previous scrape (p99 and max of 20 ms samples)',
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      // Scrapes closer together than one sample interval keep the previous figures: an empty histogram reports
      // nonsense (a p99 above its max of 0).
      if (loopDelay.count === 0) return;
      this.set({ quantile: '0.99' }, lagSeconds(loopDelay.percentile(99)));
      this.set({ quantile: 'max' }, lagSeconds(loopDelay.max));
      loopDelay.reset();
    },
  });
  return {
    registry,
    messages: new Counter({
      name: 'zephyr2mqtt_messages_total',
      help: 'Messages handled per adapter and direction (in = device to gateway)',
      labelNames: ['adapter', 'direction'],
      registers: [registry],
    }),
    decodeErrors: new Counter({
      name: 'zephyr2mqtt_decode_errors_total',
      help: 'Device bytes that could not be decoded, per adapter and reason',
      labelNames: ['adapter', 'reason'],
      registers: [registry],
    }),
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
    commandErrors: new Counter({
      name: 'zephyr2mqtt_command_errors_total',
      help: 'Commands (/set, /get, requests) that failed, per adapter',
      labelNames: ['adapter'],
      registers: [registry],
    }),
    adapterRestarts: new Counter({
      name: 'zephyr2mqtt_adapter_restarts_total',
      help: 'Adapter restarts after a failure',
      labelNames: ['adapter'],
      registers: [registry],
    }),
    configReloads: new Counter({
      name: 'zephyr2mqtt_config_reloads_total',
      help: 'Config reloads (SIGHUP, bridge/request/config/reload, onboarding) by result',
      labelNames: ['result'],
      registers: [registry],
    }),
    close: () => loopDelay.disable(),
  };
}
