import type { AdapterModule } from '../../gateway/adapter.js';
import {
  type BleAdapterConfig,
  type BleDeviceConfig,
  bleAdapterConfigSchema,
  bleDeviceSchema,
  smpSettings,
  wantsConnection,
} from './config.js';

export const bleAdapterModule: AdapterModule<BleAdapterConfig> = {
  kind: 'ble',
  configSchema: bleAdapterConfigSchema,
  deviceSchema: bleDeviceSchema,
  // SMP needs the GATT link: an explicit `connect: false` refuses SMP requests.
  firmwareUpdates: (device) =>
    smpSettings(device as BleDeviceConfig) !== undefined && wantsConnection(device as BleDeviceConfig),
  // The adapter's code loads only when it is enabled (noble itself loads later still, see noble-loader.ts).
  create: async (config, ctx) => new (await import('./ble-adapter.js')).BleAdapter(config, ctx),
};
