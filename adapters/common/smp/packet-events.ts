// What a transport does with one received SMP packet, whatever carries it (BLE notifications, UDP datagrams): the
// client takes it as an answer (counted as a device message), as a late one (logged at debug), or refuses it
// (a decode error).
import type { AdapterContext } from '../../../gateway/adapter.js';
import type { SmpClient } from './client.js';

export interface SmpPacketEvents {
  /** A received SMP packet, whatever the client made of it. */
  packetIn(): void;
  /** Bytes that did not make an SMP packet the client accepts. */
  decodeError(reason: string, bytes: Uint8Array): void;
  /** An answer nobody waits for any more (a late one after a retry). */
  unsolicited(): void;
}

export function smpPacketEvents(
  ctx: Pick<AdapterContext, 'countMessage' | 'decodeError' | 'logger'>,
  deviceId: string,
): SmpPacketEvents {
  return {
    packetIn: () => ctx.countMessage('in'),
    decodeError: (reason, bytes) =>
      ctx.decodeError('smp_packet', { deviceId, bytes: Buffer.from(bytes), error: reason }),
    unsolicited: () => ctx.logger.debug({ device: deviceId }, 'unsolicited SMP response ignored'),
  };
}

export function feedSmpPacket(client: SmpClient, packet: Uint8Array, events: SmpPacketEvents): void {
  const outcome = client.handlePacket(packet);
  if (!outcome.ok) {
    events.decodeError(outcome.reason, packet);
    return;
  }
  events.packetIn();
  if (outcome.value === 'unsolicited') events.unsolicited();
}
