// bridge/request/permit_join: {"value": true|false|seconds} (or a bare value). `true` means 254 s, like Z2M, or
// the given "time".
import { z } from 'zod';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';

export const MAX_PERMIT_JOIN_SECONDS = 3600;
const DEFAULT_PERMIT_JOIN_SECONDS = 254;

// Z2M also takes "true"/"false" and seconds as strings (shell scripts, Node-RED).
const flag = z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());
const seconds = z.preprocess(
  (v) => (typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v),
  z.number().int().min(0).max(MAX_PERMIT_JOIN_SECONDS),
);
const schema = z.object({ value: z.union([flag, seconds]).optional(), time: seconds.optional() });

export function permitJoin(gw: Gateway, data: Record<string, unknown>): { value: boolean; time: number } {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const key = String(parsed.error.issues[0]?.path[0] ?? 'value');
    throw new RequestError(
      key === 'time'
        ? `"time" must be whole seconds 0..${MAX_PERMIT_JOIN_SECONDS}, got ${JSON.stringify(data.time)}`
        : `expected {"value": true|false|seconds (0..${MAX_PERMIT_JOIN_SECONDS})}, got ${JSON.stringify(data.value)}`,
    );
  }
  const { value, time } = parsed.data;
  if (value === undefined && time === undefined)
    throw new RequestError(`expected {"value": true|false|seconds (0..${MAX_PERMIT_JOIN_SECONDS})}`);
  // {"value": true, "time": 60} is Z2M's way of asking for 60 s.
  const secs = value === false ? 0 : typeof value === 'number' ? value : (time ?? DEFAULT_PERMIT_JOIN_SECONDS);
  gw.setPermitJoin(secs);
  return { value: secs > 0, time: secs };
}
