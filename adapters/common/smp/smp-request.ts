// `bridge/request/device/smp`: a named command or a raw {group, id, op}, sent with the device's SMP client;
// the response's CBOR comes back as JSON (byte strings as hex).
import { z } from 'zod';
import { type CborValue, cborToJson } from './cbor.js';
import type { SmpClient } from './client.js';
import { smpCommandNames, smpCommands } from './commands.js';
import { SmpOp } from './header.js';
import { type SmpAnswer, SmpRcError } from './rc-error.js';

const common = {
  data: z.record(z.string(), z.json()).optional().describe('CBOR map of the request, e.g. {"d": "hi"} for echo'),
  timeout_ms: z.number().int().min(10).max(120_000).optional(),
  retries: z.number().int().min(0).max(10).optional(),
};

export const smpRequestSchema = z.union([
  z.object({ command: z.enum(smpCommandNames), ...common }),
  z.object({
    group: z.number().int().min(0).max(0xffff),
    id: z.number().int().min(0).max(0xff),
    op: z.union([z.enum(['read', 'write']), z.literal(0), z.literal(2)]),
    ...common,
  }),
]);
export type SmpRequestInput = z.input<typeof smpRequestSchema>;

export { SmpRcError, type SmpRcErrorData } from './rc-error.js';

export interface SmpRequestResult extends SmpAnswer {
  attempts: number;
  data: unknown;
}

export async function runSmpRequest(client: SmpClient, input: Record<string, unknown>): Promise<SmpRequestResult> {
  const parsed = smpRequestSchema.safeParse(input);
  if (!parsed.success) {
    throw new Error(
      `invalid smp request: expected {"command": ${smpCommandNames.map((n) => `"${n}"`).join('|')}, "data"?} ` +
        `or {"group", "id", "op": "read"|"write", "data"?}: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  const req = parsed.data;
  const target =
    'command' in req
      ? smpCommands[req.command]
      : { group: req.group, id: req.id, op: req.op === 'read' || req.op === 0 ? SmpOp.read : SmpOp.write };
  const res = await client.request({
    op: target.op,
    group: target.group,
    id: target.id,
    body: jsonToCbor(req.data ?? {}) as { [key: string]: CborValue },
    ...(req.timeout_ms !== undefined ? { timeoutMs: req.timeout_ms } : {}),
    ...(req.retries !== undefined ? { retries: req.retries } : {}),
  });
  if (res.rc !== 0) throw SmpRcError.from(res, 'command' in req ? req.command : undefined);
  return {
    ...('command' in req ? { command: req.command } : {}),
    group: res.header.group,
    id: res.header.id,
    seq: res.header.seq,
    version: res.header.version,
    rc: res.rc,
    attempts: res.attempts,
    data: cborToJson(res.body),
  };
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** JSON request data to CBOR values: `{"$hex": "0a0b"}` stands for a byte string (hashes, image chunks). */
function jsonToCbor(value: unknown): CborValue {
  if (Array.isArray(value)) return value.map(jsonToCbor);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1 && entries[0]![0] === '$hex') {
      const hex = entries[0]![1];
      if (typeof hex !== 'string' || !HEX.test(hex)) throw new Error('"$hex" must be a string of hex digit pairs');
      return Uint8Array.from(Buffer.from(hex, 'hex'));
    }
    const out: { [key: string]: CborValue } = {};
    for (const [k, v] of entries) out[k] = jsonToCbor(v);
    return out;
  }
  return value as CborValue;
}
