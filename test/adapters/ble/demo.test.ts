import { afterEach, describe, expect, it } from 'vitest';
import type { TestGateway } from '../../helpers/gateway.js';
import { demoDevices, startBleDemo } from '../../sim/ble/demo.js';
import { startBleGateway } from './helpers.js';

describe('ble demo world', () => {
  let gw: TestGateway | undefined;
  let stop: (() => void) | undefined;
  afterEach(async () => {
    await gw?.stop();
    stop?.();
    gw = undefined;
  });

  it('every demo device publishes its characteristic values', async () => {
    stop = startBleDemo();
    gw = await startBleGateway(demoDevices);
    const client = await gw.connect();
    const expectations: [string, string][] = [
      ['esp', 'temperature_sensor_2'],
      ['heart', 'heart_rate'],
      ['thermometer', 'temperature'],
      ['nus', 'uptime'],
      ['bthome', 'temperature'],
      ['bthome-secure', 'temperature'],
    ];
    const states = await Promise.all(
      expectations.map(([id, key]) =>
        gw!.waitForMessage<Record<string, unknown>>(
          client,
          `zephyr2mqtt/${id}`,
          (m) => typeof m[key] === 'number',
          8000,
        ),
      ),
    );
    expect(states).toHaveLength(6);
    expect(states[5]!.temperature).toBeGreaterThanOrEqual(20);
  });
});
