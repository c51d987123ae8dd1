import type { AdapterModule } from '../../gateway/adapter.js';
import { BleAdapter } from './ble-adapter.js';
import { type BleAdapterConfig, bleAdapterConfigSchema, bleDeviceSchema } from './config.js';

export const bleAdapterModule: AdapterModule<BleAdapterConfig> = {
  kind: 'ble',
  configSchema: bleAdapterConfigSchema,
  deviceSchema: bleDeviceSchema,
  create: (config, ctx) => new BleAdapter(config, ctx),
};
