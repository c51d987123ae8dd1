import type { AdapterModule } from '../../gateway/adapter.js';
import {
  type CoapAdapterConfig,
  type CoapDeviceConfig,
  checkCoapDevice,
  coapAdapterConfigSchema,
  coapDeviceSchema,
  coapSmpSettings,
} from './config.js';

export const coapAdapterModule: AdapterModule<CoapAdapterConfig> = {
  kind: 'coap',
  configSchema: coapAdapterConfigSchema,
  deviceSchema: coapDeviceSchema,
  deviceCheck: checkCoapDevice,
  firmwareUpdates: (device) =>
    coapSmpSettings(device as CoapDeviceConfig) !== undefined && (device as CoapDeviceConfig).address !== undefined,
  // The transport, LwM2M server and codecs load only when the adapter is enabled.
  create: async (config, ctx) => new (await import('./coap-adapter.js')).CoapAdapter(config, ctx),
};
