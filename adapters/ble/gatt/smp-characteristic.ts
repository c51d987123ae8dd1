// Finds and subscribes the SMP characteristic of a connected device and builds the pipe the BLE SMP transport
// writes through. Zephyr's smp_bt.c offers write without response (what the SMP transport specification asks
// requests to use) and notify. A device whose SMP cannot be used keeps its GATT session: only SMP is unavailable.
import type { NoblePeripheral } from '../noble-types.js';
import { SMP_CHARACTERISTIC, SMP_SERVICE, type SmpGattPipe } from '../smp-transport.js';
import { type GattCharacteristic, type GattClient, PROP_WRITE_NO_RSP } from './gatt-client.js';
import { GattTimeoutError, LinkLostError } from './operation.js';

export interface SmpEndpoint {
  char: GattCharacteristic;
  pipe: SmpGattPipe;
}

/** Subscribes the SMP characteristic, or says why SMP cannot be used on this link. */
export async function openSmpEndpoint(
  gatt: GattClient,
  chars: GattCharacteristic[],
  peripheral: NoblePeripheral,
  /** Drops the link: after an unanswered ATT write every later request on the link would wait behind it. */
  dropLink: (why: string) => void,
): Promise<SmpEndpoint | { unavailable: string }> {
  const char = chars.find((c) => c.serviceUuid === SMP_SERVICE && c.uuid === SMP_CHARACTERISTIC);
  if (!char)
    return { unavailable: 'connected, but it has no SMP characteristic (firmware without CONFIG_MCUMGR_TRANSPORT_BT)' };
  try {
    await gatt.subscribe(char);
  } catch (err) {
    if (err instanceof LinkLostError) throw err;
    // Zephyr guards the SMP service with CONFIG_MCUMGR_TRANSPORT_BT_PERM_RW_AUTHEN by default when CONFIG_BT_SMP is
    // on: an unbonded central's CCC write is refused. noble reports no ATT error (on this one it tries to encrypt),
    // so the refusal arrives as a GATT timeout. The characteristics subscribed before keep notifying.
    return {
      unavailable:
        'SMP characteristic refused the subscription (pairing required? CONFIG_MCUMGR_TRANSPORT_BT_PERM_RW_AUTHEN): ' +
        (err instanceof Error ? err.message : String(err)),
    };
  }
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
