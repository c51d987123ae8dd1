import type { Adapter, AdapterContext, AdapterModule } from '../../gateway/adapter.js';
import { type CoapAdapterConfig, coapAdapterConfigSchema, coapDeviceSchema } from './config.js';

// Placeholder until the coap adapter lands: reports itself unavailable.
function createCoapAdapter(_config: CoapAdapterConfig, _ctx: AdapterContext): Adapter {
  return {
    kind: 'coap',
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'unavailable', reason: 'not implemented yet' }),
    command: async () => {
      throw new Error('the coap adapter is not implemented yet');
    },
  };
}

export const coapAdapterModule: AdapterModule<CoapAdapterConfig> = {
  kind: 'coap',
  configSchema: coapAdapterConfigSchema,
  deviceSchema: coapDeviceSchema,
  create: createCoapAdapter,
};
