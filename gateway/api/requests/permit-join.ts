// bridge/request/permit_join: {"value": true|false|seconds} (or a bare value). `true` means 254 s, like Z2M, or
// the given "time".
import { z } from 'zod';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';

export const MAX_PERMIT_JOIN_SECONDS = 3600;
const DEFAULT_PERMIT_JOIN_SECONDS = 254;

const schema = z.object({
  value: z.union([z.boolean(), z.number().int().min(0).max(MAX_PERMIT_JOIN_SECONDS)]).optional(),
  time: z.number().int().min(0).max(MAX_PERMIT_JOIN_SECONDS).optional(),
});

export function permitJoin(gw: Gateway, data: Record<string, unknown>): { value: boolean; time: number } {
  const parsed = schema.safeParse(data);
  const { value, time } = parsed.success ? parsed.data : {};
  if (value === undefined && time === undefined)
    throw new RequestError(`expected {"value": true|false|seconds (0..${MAX_PERMIT_JOIN_SECONDS})}`);
  // {"value": true, "time": 60} is Z2M's way of asking for 60 s.
  const seconds = value === false ? 0 : typeof value === 'number' ? value : (time ?? DEFAULT_PERMIT_JOIN_SECONDS);
  gw.setPermitJoin(seconds);
  return { value: seconds > 0, time: seconds };
}
