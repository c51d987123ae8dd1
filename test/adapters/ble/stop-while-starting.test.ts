// A BLE adapter stopped while its start is still under way stays stopped: neither a binding that fails to load
// after the stop nor a scan whose start is confirmed after it makes the adapter unavailable or running again.
import { afterEach, describe, expect, it } from 'vitest';
import { BleAdapter } from '../../../adapters/ble/ble-adapter.js';
import { bleAdapterConfigSchema } from '../../../adapters/ble/config.js';
import { RecordingContext } from '../serial/recording-context.js';
import { nextEvent, SIM_BINDING, world } from './helpers.js';

let adapter: BleAdapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
  world.reset();
});

function bleAdapter(binding: string): BleAdapter {
  const config = bleAdapterConfigSchema.parse({ enabled: true, binding });
  adapter = new BleAdapter(config, new RecordingContext([]));
  return adapter;
}

describe('a BLE adapter stopped during its start', () => {
  it('stays stopped when its binding then fails to load', async () => {
    const ble = bleAdapter('/nonexistent/noble-binding.js');
    const starting = ble.start();
    await ble.stop();
    await starting;
    expect(ble.status()).toMatchObject({ state: 'stopped' });
    expect(ble.status().reason).toBeUndefined();
  });

  it('stays stopped when the scan it asked for is confirmed after the stop', async () => {
    const ble = bleAdapter(SIM_BINDING);
    await ble.start();
    const [binding] = world.bindings;
    if (!binding) throw new Error('the adapter made no binding');
    const startScanning = binding.startScanning.bind(binding);
    // The stop comes between the scan request and its confirmation (the controller's LE Set Scan Enable complete).
    binding.startScanning = (uuids, duplicates) => {
      startScanning(uuids, duplicates);
      void ble.stop();
    };
    await nextEvent(binding, 'scanStart');
    expect(ble.status()).toMatchObject({ state: 'stopped' });
  });
});
