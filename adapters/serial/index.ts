import type { AdapterModule } from '../../gateway/adapter.js';
import { type SerialAdapterConfig, serialAdapterConfigSchema, serialDeviceSchema } from './config.js';
import { SerialAdapter } from './serial-adapter.js';

export const serialAdapterModule: AdapterModule<SerialAdapterConfig> = {
  kind: 'serial',
  configSchema: serialAdapterConfigSchema,
  deviceSchema: serialDeviceSchema,
  create: (config, ctx) => new SerialAdapter(config, ctx),
};
