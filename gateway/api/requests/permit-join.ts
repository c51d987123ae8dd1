// bridge/request/permit_join: {"value": true|false|seconds} (or a bare value). `true` means 254 s, like Z2M.
import { z } from 'zod';
import type { Gateway } from '../../controller.js';
import { RequestError } from '../router.js';

export const MAX_PERMIT_JOIN_SECONDS = 3600;

const schema = z.object({
  value: z.union([z.boolean(), z.number().int().min(0).max(MAX_PERMIT_JOIN_SECONDS)]).optional(),
  time: z.number().int().min(0).max(MAX_PERMIT_JOIN_SECONDS).optional(),
});

export function permitJoin(gw: Gateway, data: Record<string, unknown>): { value: boolean; time: number } {
  const parsed = schema.safeParse(data);
  const value = parsed.success ? (parsed.data.value ?? parsed.data.time) : undefined;
  if (value === undefined)
    throw new RequestError(`expected {"value": true|false|seconds (0..${MAX_PERMIT_JOIN_SECONDS})}`);
  const seconds = value === true ? 254 : value === false ? 0 : value;
  gw.setPermitJoin(seconds);
  return { value: seconds > 0, time: seconds };
}
