// The Uri-Query of Register and Update: ep, lt, lwm2m, b, Q (in any order; Zephyr sends lwm2m, ep, lt, b, Q).
import { type Decoded, fail, ok } from './result.js';

export interface RegisterParams {
  endpoint: string;
  lifetime: number;
  version: string;
  binding: string;
  queueMode: boolean;
}

export type UpdateParams = Partial<Pick<RegisterParams, 'lifetime' | 'binding' | 'queueMode'>>;

const DEFAULT_LIFETIME_S = 86400;
const MAX_LIFETIME_S = 0xffffffff;
const ENDPOINT = /^[\x21-\x7e]{1,128}$/;

function split(query: readonly string[]): Decoded<Map<string, string>> {
  const out = new Map<string, string>();
  for (const q of query) {
    const eq = q.indexOf('=');
    const key = eq < 0 ? q : q.slice(0, eq);
    if (out.has(key)) return fail(`duplicate query parameter "${key}"`);
    out.set(key, eq < 0 ? '' : q.slice(eq + 1));
  }
  return ok(out);
}

function lifetime(raw: string | undefined): Decoded<number | undefined> {
  if (raw === undefined) return ok(undefined);
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_LIFETIME_S)
    return fail(`bad lifetime "lt=${raw}"`);
  return ok(Number(raw));
}

// LwM2M 1.1 transports (U, M, H, T, S, N); Q is 1.0's queue mode (U, UQ, S, SQ, US, UQS), which 1.1 tolerates.
const TRANSPORTS = 'UMHTSN';

function binding(raw: string | undefined): Decoded<string | undefined> {
  if (raw === undefined) return ok(undefined);
  const letters = [...raw];
  const unknown = letters.find((l) => !TRANSPORTS.includes(l) && l !== 'Q');
  if (unknown !== undefined) return fail(`bad binding "b=${raw}": unknown binding letter "${unknown}"`);
  const repeated = letters.find((l, i) => letters.indexOf(l) !== i);
  if (repeated !== undefined) return fail(`bad binding "b=${raw}": "${repeated}" given twice`);
  if (!letters.some((l) => TRANSPORTS.includes(l)))
    return fail(`bad binding "b=${raw}": no transport (one of ${[...TRANSPORTS].join(', ')})`);
  const q = raw.indexOf('Q');
  if (q >= 0 && !TRANSPORTS.includes(raw[q - 1] ?? '-'))
    return fail(`bad binding "b=${raw}": Q must follow the transport it applies to (UQ, SQ)`);
  return ok(raw);
}

export function parseRegisterQuery(query: readonly string[]): Decoded<RegisterParams> {
  const q = split(query);
  if (!q.ok) return q;
  const ep = q.value.get('ep');
  if (ep === undefined) return fail('missing endpoint name "ep="');
  if (!ENDPOINT.test(ep)) return fail('endpoint name must be 1-128 printable characters');
  const version = q.value.get('lwm2m') ?? '1.0';
  // A well-formed version this server does not speak is the rd handler's 4.12, not a bad request.
  if (!/^\d{1,3}\.\d{1,3}$/.test(version)) return fail(`bad LwM2M version "lwm2m=${version.slice(0, 16)}"`);
  const lt = lifetime(q.value.get('lt'));
  if (!lt.ok) return lt;
  const b = binding(q.value.get('b'));
  if (!b.ok) return b;
  const bindingValue = b.value ?? 'U';
  return ok({
    endpoint: ep,
    lifetime: lt.value ?? DEFAULT_LIFETIME_S,
    version,
    binding: bindingValue,
    queueMode: q.value.has('Q') || bindingValue.includes('Q'),
  });
}

/** The LwM2M versions this server speaks (LwM2M 1.1 §6.2.1: another one gets 4.12 Precondition Failed). */
export function supportedVersion(version: string): boolean {
  return /^1\.[0-2]$/.test(version);
}

export function parseUpdateQuery(query: readonly string[]): Decoded<UpdateParams> {
  const q = split(query);
  if (!q.ok) return q;
  const lt = lifetime(q.value.get('lt'));
  if (!lt.ok) return lt;
  const b = binding(q.value.get('b'));
  if (!b.ok) return b;
  const out: UpdateParams = {};
  if (lt.value !== undefined) out.lifetime = lt.value;
  if (b.value !== undefined) out.binding = b.value;
  if (b.value !== undefined || q.value.has('Q')) out.queueMode = q.value.has('Q') || (b.value ?? '').includes('Q');
  return ok(out);
}
