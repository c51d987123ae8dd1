import type { AdapterModule } from '../../gateway/adapter.js';
import { CoapAdapter } from './coap-adapter.js';
import { type CoapAdapterConfig, coapAdapterConfigSchema, coapDeviceSchema } from './config.js';

export const coapAdapterModule: AdapterModule<CoapAdapterConfig> = {
  kind: 'coap',
  configSchema: coapAdapterConfigSchema,
  deviceSchema: coapDeviceSchema,
  create: (config, ctx) => new CoapAdapter(config, ctx),
};
