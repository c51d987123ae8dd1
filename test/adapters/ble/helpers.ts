// Shared set-up for the BLE black-box tests: the real gateway with the ble adapter on the simulated binding.
import { fileURLToPath } from 'node:url';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { world } from '../../sim/ble/binding.js';

export const SIM_BINDING = fileURLToPath(new URL('../../sim/ble/binding.ts', import.meta.url));

export async function startBleGateway(
  devices: Record<string, unknown>[],
  ble: Record<string, unknown> = {},
): Promise<TestGateway> {
  return startTestGateway({
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
  } as Parameters<typeof startTestGateway>[0]);
}

export { world };
