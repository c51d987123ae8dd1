import type { Adapter, AdapterContext, AdapterModule } from '../../gateway/adapter.js';
import { type SerialAdapterConfig, serialAdapterConfigSchema, serialDeviceSchema } from './config.js';

// Placeholder until the serial adapter lands: reports itself unavailable.
function createSerialAdapter(_config: SerialAdapterConfig, _ctx: AdapterContext): Adapter {
  return {
    kind: 'serial',
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'unavailable', reason: 'not implemented yet' }),
    command: async () => {
      throw new Error('the serial adapter is not implemented yet');
    },
  };
}

export const serialAdapterModule: AdapterModule<SerialAdapterConfig> = {
  kind: 'serial',
  configSchema: serialAdapterConfigSchema,
  deviceSchema: serialDeviceSchema,
  create: createSerialAdapter,
};
