import type { AdapterModule } from '../../gateway/adapter.js';
import { type BleAdapterConfig, bleAdapterConfigSchema, bleDeviceSchema } from './config.js';

export const bleAdapterModule: AdapterModule<BleAdapterConfig> = {
  kind: 'ble',
  configSchema: bleAdapterConfigSchema,
  deviceSchema: bleDeviceSchema,
  // The adapter's code loads only when it is enabled (noble itself loads later still, see noble-loader.ts).
  create: async (config, ctx) => new (await import('./ble-adapter.js')).BleAdapter(config, ctx),
};
