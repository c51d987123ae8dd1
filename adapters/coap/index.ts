import type { AdapterModule } from '../../gateway/adapter.js';
import { type CoapAdapterConfig, checkSmpAddress, coapAdapterConfigSchema, coapDeviceSchema } from './config.js';

export const coapAdapterModule: AdapterModule<CoapAdapterConfig> = {
  kind: 'coap',
  configSchema: coapAdapterConfigSchema,
  deviceSchema: coapDeviceSchema,
  deviceCheck: checkSmpAddress,
  // The transport, LwM2M server and codecs load only when the adapter is enabled.
  create: async (config, ctx) => new (await import('./coap-adapter.js')).CoapAdapter(config, ctx),
};
