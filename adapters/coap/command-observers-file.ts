// command-observers.json in the adapter's data directory: the /ps/<id>/set relations that were not ended and each
// device's last command, so that after a crash or power cut the gateway notifies its observers on their old tokens
// (a device that observes does nothing to find out the gateway restarted). A clean stop ends the relations (5.03)
// and saves the commands, and only the relations whose 5.03 could not be sent. Read once at start and checked with
// zod: a device entry that does not pass is dropped, a file that is not one of ours is moved aside and ignored;
// neither stops the adapter from starting.
import { z } from 'zod';
import type { SavedDevice } from './command-observers.js';
import { readSavedState, type SavedStateRead, savedStateText } from './saved-state-file.js';
import { isIpLiteral } from './transport/peer.js';

export const OBSERVERS_FILE = 'command-observers.json';

const FORMAT = 1;

const hex = (minBytes: number, maxBytes: number) =>
  z
    .string()
    .regex(/^(?:[0-9a-f]{2})*$/, 'lower-case hex')
    .min(minBytes * 2)
    .max(maxBytes * 2);

const observerSchema = z.strictObject({
  address: z.string().refine(isIpLiteral, 'an IP address'),
  port: z.number().int().min(1).max(65535),
  token: hex(0, 8),
  accept: z.number().int().min(0).max(65535).optional(),
  block2_szx: z.number().int().min(0).max(6).optional(),
});

const deviceSchema = z.strictObject({
  observers: z.array(observerSchema).max(64),
  sequence: z.number().int().min(0).max(0xffffff).optional(),
  command: z.strictObject({ payload: z.record(z.string(), z.unknown()), etag: hex(1, 8) }).optional(),
});

/** The envelope is checked on its own: one bad device entry costs that device only. */
const fileSchema = z.object({
  format: z.literal(FORMAT),
  saved_at: z.string(),
  devices: z.record(z.string().min(1), z.unknown()),
});

export type SavedFile =
  | Exclude<SavedStateRead<unknown>, { state: 'read' }>
  | { state: 'read'; devices: Map<string, SavedDevice>; invalid: string[] };

export function serializeObservers(devices: ReadonlyMap<string, SavedDevice>): string {
  const out: Record<string, z.input<typeof deviceSchema>> = {};
  for (const [id, saved] of devices) {
    out[id] = {
      observers: saved.observers.map((o) => ({
        address: o.peer.address,
        port: o.peer.port,
        token: o.token.toString('hex'),
        ...(o.accept !== undefined ? { accept: o.accept } : {}),
        ...(o.block2Szx !== undefined ? { block2_szx: o.block2Szx } : {}),
      })),
      ...(saved.sequence !== undefined ? { sequence: saved.sequence } : {}),
      ...(saved.command
        ? { command: { payload: saved.command.payload, etag: saved.command.etag.toString('hex') } }
        : {}),
    };
  }
  return savedStateText(FORMAT, { devices: out });
}

export async function readObserversFile(file: string): Promise<SavedFile> {
  const read = await readSavedState(file, fileSchema, `format ${FORMAT} command-observers file`);
  if (read.state !== 'read') return read;
  const devices = new Map<string, SavedDevice>();
  const invalid: string[] = [];
  for (const [id, raw] of Object.entries(read.envelope.devices)) {
    const parsed = deviceSchema.safeParse(raw);
    if (parsed.success) devices.set(id, fromFile(parsed.data));
    else invalid.push(id);
  }
  return { state: 'read', devices, invalid };
}

function fromFile(entry: z.infer<typeof deviceSchema>): SavedDevice {
  return {
    observers: entry.observers.map((o) => ({
      peer: { address: o.address, port: o.port },
      token: Buffer.from(o.token, 'hex'),
      accept: o.accept,
      block2Szx: o.block2_szx,
    })),
    sequence: entry.sequence,
    command: entry.command
      ? { payload: entry.command.payload, etag: Buffer.from(entry.command.etag, 'hex') }
      : undefined,
  };
}
