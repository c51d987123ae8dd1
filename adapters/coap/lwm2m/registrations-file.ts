// lwm2m-registrations.json in the CoAP adapter's data directory: the LwM2M registrations, so that an adapter or
// gateway restart (a reload changing adapters.coap, an upgrade, a crash or power cut) does not forget clients that
// will not Register again before their next Update, hours later. Read once at start and checked with zod: an entry
// that does not pass is dropped, a file that is not one of ours is moved aside and ignored; neither stops the start.
import { z } from 'zod';
import { readSavedState, type SavedStateRead, savedStateText } from '../saved-state-file.js';
import { isIpLiteral } from '../transport/peer.js';
import { type LinkEntry, parseLinkFormat } from './link-format.js';
import { formatPath } from './path.js';
import type { Registration } from './registration-store.js';

export const REGISTRATIONS_FILE = 'lwm2m-registrations.json';

const FORMAT = 1;

/** What a registration needs to be served again; lastHeard (monotonic, of the old process) is not kept, lastHeardAt is. */
export type SavedRegistration = Omit<Registration, 'lastHeard' | 'deviceId'>;

const entrySchema = z.strictObject({
  endpoint: z.string().min(1).max(128),
  id: z.string().regex(/^[0-9a-f]{24}$/, 'a registration id (24 hex digits)'),
  version: z.string().min(1).max(8),
  lifetime: z.number().int().min(1).max(0xffffffff),
  binding: z.string().max(16),
  queue_mode: z.boolean(),
  address: z.string().refine(isIpLiteral, 'an IP address'),
  port: z.number().int().min(1).max(65535),
  /** The registration's link payload as link format, parsed again as a Register's. */
  links: z.string().max(65_536),
  content_format: z.number().int().min(0).max(65535),
  registered_at: z.number().int().min(0),
  last_update: z.number().int().min(0),
  /** When the client was last heard (wall clock); absent in files of earlier versions, where last_update stands for it. */
  last_heard: z.number().int().min(0).optional(),
  device_info: z.record(z.string(), z.unknown()).optional(),
});

/**
 * The envelope is checked on its own: one bad entry costs that registration only. A list, not an object keyed by
 * endpoint name: any printable name is a valid endpoint, `__proto__` included.
 */
const fileSchema = z.object({
  format: z.literal(FORMAT),
  saved_at: z.string(),
  registrations: z.array(z.unknown()),
});

export type SavedRegistrationsFile =
  | Exclude<SavedStateRead<unknown>, { state: 'read' }>
  | { state: 'read'; registrations: SavedRegistration[]; invalid: string[] };

export function serializeRegistrations(registrations: readonly Registration[]): string {
  const out: z.input<typeof entrySchema>[] = [];
  for (const reg of registrations) {
    out.push({
      endpoint: reg.endpoint,
      id: reg.id,
      version: reg.version,
      lifetime: reg.lifetime,
      binding: reg.binding,
      queue_mode: reg.queueMode,
      address: reg.peer.address,
      port: reg.peer.port,
      links: formatLinks(reg.links),
      content_format: reg.contentFormat,
      registered_at: reg.registeredAt,
      last_update: reg.lastUpdate,
      last_heard: reg.lastHeardAt,
      ...(reg.deviceInfo ? { device_info: reg.deviceInfo } : {}),
    });
  }
  return savedStateText(FORMAT, { registrations: out });
}

export async function readRegistrationsFile(file: string): Promise<SavedRegistrationsFile> {
  const read = await readSavedState(file, fileSchema, `format ${FORMAT} LwM2M registrations file`);
  if (read.state !== 'read') return read;
  const registrations: SavedRegistration[] = [];
  const invalid: string[] = [];
  for (const [i, raw] of read.envelope.registrations.entries()) {
    const parsed = entrySchema.safeParse(raw);
    const links = parsed.success ? parseLinkFormat(parsed.data.links) : undefined;
    if (parsed.success && links?.ok) registrations.push(fromFile(parsed.data, links.value));
    else invalid.push(endpointOf(raw) ?? `#${i}`);
  }
  return { state: 'read', registrations, invalid };
}

/** The endpoint name of an entry that did not pass, to say which was dropped (and take its device offline). */
function endpointOf(raw: unknown): string | undefined {
  const endpoint = typeof raw === 'object' && raw !== null ? (raw as { endpoint?: unknown }).endpoint : undefined;
  return typeof endpoint === 'string' ? endpoint : undefined;
}

function fromFile(entry: z.infer<typeof entrySchema>, links: LinkEntry[]): SavedRegistration {
  return {
    id: entry.id,
    endpoint: entry.endpoint,
    version: entry.version,
    lifetime: entry.lifetime,
    binding: entry.binding,
    queueMode: entry.queue_mode,
    peer: { address: entry.address, port: entry.port },
    links,
    contentFormat: entry.content_format,
    registeredAt: entry.registered_at,
    lastUpdate: entry.last_update,
    lastHeardAt: entry.last_heard ?? entry.last_update,
    ...(entry.device_info ? { deviceInfo: entry.device_info } : {}),
  };
}

/** The links as the client sent them, near enough for parseLinkFormat to give the same entries back. */
export function formatLinks(links: readonly LinkEntry[]): string {
  return links
    .map((l) => {
      const attrs = Object.entries(l.attrs).map(([k, v]) => (v === true ? `;${k}` : `;${k}="${v}"`));
      return `<${l.path ? formatPath(l.path) : '/'}>${attrs.join('')}`;
    })
    .join(',');
}
