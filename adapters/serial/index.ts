import type { AdapterModule } from '../../gateway/adapter.js';
import {
  checkPortChoice,
  type SerialAdapterConfig,
  type SerialDeviceConfig,
  serialAdapterConfigSchema,
  serialDeviceSchema,
} from './config.js';

export const serialAdapterModule: AdapterModule<SerialAdapterConfig> = {
  kind: 'serial',
  configSchema: serialAdapterConfigSchema,
  deviceSchema: serialDeviceSchema,
  deviceCheck: checkPortChoice,
  firmwareUpdates: (device) => (device as SerialDeviceConfig).smp.enabled,
  // serialport and its native bindings load only when the adapter is enabled.
  create: async (config, ctx) => new (await import('./serial-adapter.js')).SerialAdapter(config, ctx),
};
