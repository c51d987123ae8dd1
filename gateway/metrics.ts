// Prometheus metrics of the gateway (served on /metrics).
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

export interface GatewayMetrics {
  registry: Registry;
  messages: Counter<'adapter' | 'direction'>;
  decodeErrors: Counter<'adapter' | 'reason'>;
  devicesOnline: Gauge;
  brokerClients: Gauge;
  commandErrors: Counter<'adapter'>;
}

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'zephyr2mqtt_process_' });
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
  };
}
