// Finds and subscribes the SMP characteristic of a connected device and builds the pipe the BLE SMP transport
// writes through. Zephyr's smp_bt.c offers write without response (what the SMP transport specification asks
// requests to use) and notify.
import type { NoblePeripheral } from '../noble-types.js';
import { SMP_CHARACTERISTIC, SMP_SERVICE, type SmpGattPipe } from '../smp-transport.js';
import { type GattCharacteristic, type GattClient, PROP_WRITE_NO_RSP } from './gatt-client.js';
import { GattTimeoutError } from './operation.js';

export interface SmpEndpoint {
  char: GattCharacteristic;
  pipe: SmpGattPipe;
}

/** Subscribes the SMP characteristic; undefined when the device has none (SMP not built into its firmware). */
export async function openSmpEndpoint(
  gatt: GattClient,
  chars: GattCharacteristic[],
  peripheral: NoblePeripheral,
  /** Drops the link: after an unanswered ATT write every later request on the link would wait behind it. */
  dropLink: (why: string) => void,
): Promise<SmpEndpoint | undefined> {
  const char = chars.find((c) => c.serviceUuid === SMP_SERVICE && c.uuid === SMP_CHARACTERISTIC);
  if (!char) return undefined;
  await gatt.subscribe(char);
  const withoutResponse = (char.properties & PROP_WRITE_NO_RSP) !== 0;
  return {
    char,
    pipe: {
      write: async (fragment) => {
        try {
          await gatt.write(char.valueHandle, fragment, withoutResponse, 'SMP write');
        } catch (err) {
          if (err instanceof GattTimeoutError) dropLink(`${err.message}; link dropped`);
          throw err;
        }
      },
      mtu: () => peripheral.mtu,
    },
  };
}
