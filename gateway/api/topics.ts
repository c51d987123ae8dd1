// Every MQTT topic of the public API and the schema of every payload that crosses it.
// docs/mqtt-api.md documents the same contract for people.
import { z } from 'zod';

export const topics = {
  deviceState: (base: string, id: string) => `${base}/${id}`,
  deviceProperty: (base: string, id: string, property: string) => `${base}/${id}/${property}`,
  deviceAvailability: (base: string, id: string) => `${base}/${id}/availability`,
  deviceSet: (base: string, id: string) => `${base}/${id}/set`,
  deviceGet: (base: string, id: string) => `${base}/${id}/get`,
  deviceSub: (base: string, id: string, sub: string) => `${base}/${id}/${sub}`,
  bridgeState: (base: string) => `${base}/bridge/state`,
  bridgeInfo: (base: string) => `${base}/bridge/info`,
  bridgeDevices: (base: string) => `${base}/bridge/devices`,
  bridgeEvent: (base: string) => `${base}/bridge/event`,
  bridgeRequest: (base: string, name: string) => `${base}/bridge/request/${name}`,
  bridgeResponse: (base: string, name: string) => `${base}/bridge/response/${name}`,
} as const;

export const availabilityPayload = z.object({ state: z.enum(['online', 'offline']) });
export type AvailabilityPayload = z.infer<typeof availabilityPayload>;

export const bridgeStatePayload = z.object({ state: z.enum(['online', 'offline']) });

/** `<base>/<device>/set` and `/get`: a JSON object. */
export const devicePayload = z.record(z.string(), z.unknown());

/** `<base>/bridge/request/<name>`: any JSON object; `transaction` is echoed in the response. */
export const requestEnvelope = z.looseObject({ transaction: z.union([z.string(), z.number()]).optional() });

export const responseEnvelope = z.object({
  status: z.enum(['ok', 'error']),
  data: z.unknown(),
  error: z.string().optional(),
  transaction: z.union([z.string(), z.number()]).optional(),
});
export type ResponseEnvelope = z.infer<typeof responseEnvelope>;

export const bridgeEventPayload = z.object({
  type: z.enum([
    'device_joined',
    'device_left',
    'device_seen_unknown',
    'device_renamed',
    'config_error',
    'config_reloaded',
    'adapter_status',
    'queue_dropped',
    'upstream',
  ]),
  data: z.record(z.string(), z.unknown()),
});
export type BridgeEventPayload = z.infer<typeof bridgeEventPayload>;

export const devicesListEntry = z.object({
  id: z.string(),
  name: z.string().optional(),
  transport: z.string(),
  address: z.string().optional(),
  profile: z.string().optional(),
  availability: z.enum(['online', 'offline']),
  last_seen: z.string().nullable(),
  disabled: z.boolean(),
  info: z.record(z.string(), z.unknown()),
});
export type DevicesListEntry = z.infer<typeof devicesListEntry>;
