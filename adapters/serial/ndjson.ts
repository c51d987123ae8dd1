// Application lines in NDJSON: `{"temperature":21.5}` is telemetry, `{"topic":"x","payload":...}` a publish
// below the device topic. Pure: text in, typed value or reason out.
import { z } from 'zod';

export type AppMessage =
  | { kind: 'telemetry'; values: Record<string, unknown> }
  | { kind: 'publish'; topic: string; payload: unknown };

export type AppDecodeResult = { ok: true; value: AppMessage } | { ok: false; reason: string };

/** Sub-topics the device may not publish to: they are the gateway's own (commands, availability, log). */
const RESERVED_SUBTOPICS = new Set(['set', 'get', 'availability', 'log']);

const subtopic = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/, 'letters, digits, "_", "-" and "/" separated segments')
  .refine((t) => !RESERVED_SUBTOPICS.has(t.split('/')[0]!), 'reserved sub-topic');

const publishSchema = z.object({ topic: subtopic, payload: z.unknown() }).strict();

export function decodeNdjsonLine(text: string): AppDecodeResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `invalid JSON line: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return { ok: false, reason: 'JSON line is not an object' };
  }
  // A number beyond the double range (1e400) parses as Infinity, which would be published as null.
  if (hasNonFinite(parsed)) return { ok: false, reason: 'JSON line has a number out of range (not finite)' };
  const obj = parsed as Record<string, unknown>;
  if (typeof obj.topic === 'string' && 'payload' in obj) {
    const pub = publishSchema.safeParse(obj);
    if (!pub.success)
      return { ok: false, reason: `invalid publish line: ${pub.error.issues[0]?.message ?? 'invalid'}` };
    return { ok: true, value: { kind: 'publish', topic: pub.data.topic, payload: pub.data.payload } };
  }
  if (Object.keys(obj).length === 0) return { ok: false, reason: 'empty JSON object' };
  return { ok: true, value: { kind: 'telemetry', values: obj } };
}

/** Iterative: a line may nest deeper than the call stack allows. */
function hasNonFinite(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const child of Object.values(v)) stack.push(child);
    }
  }
  return false;
}
