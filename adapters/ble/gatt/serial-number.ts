// Reads a peripheral's Device Information serial number (0x2A25) over a short-lived connection: what tells a
// device matched only by `serial_number` apart from the other connectable advertisers.
import { decodeUtf8 } from '../decoders/gatt-services.js';
import type { NoblePeripheral } from '../noble-types.js';
import { GattClient } from './gatt-client.js';
import { closeLinkAndWait, openLink } from './link.js';
import { DIS_SERVICE } from './service-handlers.js';

const SERIAL_NUMBER = '2a25';

export interface SerialReadOptions {
  gattTimeoutMs: number;
  connectTimeoutMs: number;
}

/** The serial number, null when the peripheral has none (or it is not UTF-8); throws when the link fails. */
export async function readSerialNumber(p: NoblePeripheral, opts: SerialReadOptions): Promise<string | null> {
  await openLink(p, opts.connectTimeoutMs);
  try {
    const gatt = new GattClient(p, opts.gattTimeoutMs);
    const chars = await gatt.discover([DIS_SERVICE]);
    const char = chars.find((c) => c.serviceUuid === DIS_SERVICE && c.uuid === SERIAL_NUMBER);
    if (!char) return null;
    const text = decodeUtf8(await gatt.read(char.valueHandle, 'read of the serial number'));
    return text.ok ? text.value : null;
  } finally {
    // The device session that follows connects anew: the link must be down first, or noble refuses it.
    await closeLinkAndWait(p, opts.gattTimeoutMs);
  }
}
