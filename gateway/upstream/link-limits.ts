// What one upstream connection allows: the limits its MQTT 5 CONNACK announces, narrowed by `bridge:`.
// MQTT 3.1.1 announces none, so there only the config speaks (bridge.max_qos, bridge.retain).
import { type IConnackPacket, ReasonCodes } from 'mqtt';
import type { UpstreamConfig } from './config.js';

export interface LinkLimits {
  /** QoS 1/2 publishes the upstream takes unacknowledged (Receive Maximum). */
  receiveMaximum: number;
  maximumPacketSize: number;
  /** Publishes above it are sent at this QoS (MQTT-3.2.2-11: a server may disconnect on a higher one). */
  maxQos: 0 | 1 | 2;
  /** false: publishes go without the retain flag (Retain Available 0, or bridge.retain: strip). */
  retain: boolean;
}

export function linkLimits(config: UpstreamConfig, connack?: Pick<IConnackPacket, 'properties'>): LinkLimits {
  const p = connack?.properties;
  return {
    receiveMaximum: p?.receiveMaximum ?? 65535,
    maximumPacketSize: p?.maximumPacketSize ?? Number.POSITIVE_INFINITY,
    maxQos: Math.min(config.max_qos, p?.maximumQoS ?? 2) as 0 | 1 | 2,
    retain: config.retain === 'keep' && p?.retainAvailable !== false,
  };
}

/** An MQTT 5 reason code as `0x90 Topic Name invalid`, with the broker's reason string when it gave one. */
export function describeReason(code: number, reasonString?: string): string {
  const hex = `0x${code.toString(16).padStart(2, '0').toUpperCase()}`;
  const name = ReasonCodes[code as keyof typeof ReasonCodes] ?? 'unknown reason';
  return reasonString ? `${hex} ${name}: ${reasonString}` : `${hex} ${name}`;
}
