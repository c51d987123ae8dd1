// Shared set-up for the BLE black-box tests: the real gateway with the ble adapter on the simulated binding.
import type { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../../helpers/gateway.js';
import { world } from '../../sim/ble/binding.js';
import type { SimPeripheral } from '../../sim/ble/sim-peripheral.js';

export const SIM_BINDING = fileURLToPath(new URL('../../sim/ble/binding.ts', import.meta.url));

export async function startBleGateway(
  devices: Record<string, unknown>[],
  ble: Record<string, unknown> = {},
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  return startTestGateway(
    {
      adapters: {
        ble: {
          enabled: true,
          binding: SIM_BINDING,
          gatt_timeout_ms: 1000,
          connect_timeout_ms: 1000,
          reconnect_min_ms: 50,
          reconnect_max_ms: 200,
          ...ble,
        },
      },
      devices,
    } as Parameters<typeof startTestGateway>[0],
    options,
  );
}

export { world };

/** Resolves with the arguments of the first `event` passing `accept`; rejects after `timeoutMs`. */
export function nextEvent<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  accept: (...args: A) => boolean = () => true,
  timeoutMs = 5000,
): Promise<A> {
  return new Promise<A>((resolve, reject) => {
    const on = (...args: unknown[]) => {
      if (!accept(...(args as A))) return;
      clearTimeout(timer);
      emitter.off(event, on);
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      emitter.off(event, on);
      reject(new Error(`no matching "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.on(event, on);
  });
}

type DeviceListEntry = { id: string; availability: string; info?: Record<string, unknown> };

/** Waits until bridge/devices lists `id` with the given availability. */
export function waitForAvailability(
  gw: TestGateway,
  client: Parameters<TestGateway['waitForMessage']>[0],
  id: string,
  availability: 'online' | 'offline',
  timeoutMs = 5000,
) {
  return gw.waitForMessage<DeviceListEntry[]>(
    client,
    'zephyr2mqtt/bridge/devices',
    (list) => list.some((d) => d.id === id && d.availability === availability),
    timeoutMs,
  );
}

/** Every availability message of `id` ("online"/"offline"), in order, from now on. */
export async function collectAvailability(client: MqttClient, id: string): Promise<string[]> {
  const seen: string[] = [];
  client.on('message', (topic, payload) => {
    if (topic === `zephyr2mqtt/${id}/availability`)
      seen.push((JSON.parse(payload.toString()) as { state: string }).state);
  });
  await client.subscribeAsync(`zephyr2mqtt/${id}/availability`);
  return seen;
}

/**
 * Advertises `control` (a device with id "control" and availability_timeout 1, out of range otherwise) once, waits for
 * it to come online and then to go offline: resolves once an availability check past that timeout has run. The core
 * checks the devices in the order they are configured, so a device listed before "control" has been judged too.
 */
export async function availabilityCheckPastTimeout(
  gw: TestGateway,
  client: MqttClient,
  control: SimPeripheral,
): Promise<void> {
  const controlOnline = await gw.expectMessage(
    client,
    'zephyr2mqtt/control/availability',
    (a) => (a as { state: string }).state === 'online',
  );
  world.advertise(control);
  await controlOnline.message;
  await gw.waitForMessage(
    client,
    'zephyr2mqtt/control/availability',
    (a) => (a as { state: string }).state === 'offline',
  );
}
