import type { Adapter, AdapterContext, AdapterModule } from '../../gateway/adapter.js';
import { type BleAdapterConfig, bleAdapterConfigSchema, bleDeviceSchema } from './config.js';

// Placeholder until the ble adapter lands: reports itself unavailable.
function createBleAdapter(_config: BleAdapterConfig, _ctx: AdapterContext): Adapter {
  return {
    kind: 'ble',
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'unavailable', reason: 'not implemented yet' }),
    command: async () => {
      throw new Error('the ble adapter is not implemented yet');
    },
  };
}

export const bleAdapterModule: AdapterModule<BleAdapterConfig> = {
  kind: 'ble',
  configSchema: bleAdapterConfigSchema,
  deviceSchema: bleDeviceSchema,
  create: createBleAdapter,
};
