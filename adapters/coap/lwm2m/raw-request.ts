// `bridge/request/device/lwm2m`: raw operations on one registered client.
import { z } from 'zod';

const path = z.string().regex(/^\/?\d{1,5}(\/\d{1,5}){0,3}$/, 'an LwM2M path like /3303/0/5700');
const attribute = z.number().finite().optional();

export const rawRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('registration') }),
  z.object({ op: z.literal('read'), path }),
  z.object({ op: z.literal('discover'), path }),
  z.object({
    op: z.literal('write'),
    path,
    /** The value of a single resource (`path` is a resource). */
    value: z.unknown().optional(),
    /** Resource id (or "res/ri") -> value, below an instance `path`. */
    values: z.record(z.string().regex(/^\d{1,5}(\/\d{1,5})?$/), z.unknown()).optional(),
    mode: z.enum(['replace', 'partial']).default('partial'),
  }),
  z.object({ op: z.literal('execute'), path, args: z.string().max(1024).optional() }),
  z.object({
    op: z.literal('create'),
    /** The object, e.g. "/3303". */
    path: z.string().regex(/^\/?\d{1,5}$/, 'an object path like /3303'),
    instance: z.number().int().min(0).max(65534),
    values: z.record(z.string().regex(/^\d{1,5}(\/\d{1,5})?$/), z.unknown()),
  }),
  z.object({
    op: z.literal('delete'),
    path: z.string().regex(/^\/?\d{1,5}\/\d{1,5}$/, 'an instance path like /3303/1'),
  }),
  z.object({
    op: z.literal('write_attributes'),
    path,
    attributes: z.object({ pmin: attribute, pmax: attribute, gt: attribute, lt: attribute, st: attribute }).strict(),
  }),
  z.object({ op: z.literal('observe'), path }),
  z.object({ op: z.literal('cancel_observe'), path }),
]);
export type RawRequest = z.infer<typeof rawRequestSchema>;
