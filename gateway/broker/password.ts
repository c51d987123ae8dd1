// Password hashes for broker users: `scrypt$N$r$p$salt$hash` (salt and hash base64), made with node:crypto
// and compared in constant time. Plain passwords never appear in the config.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

const DEFAULTS = { N: 16_384, r: 8, p: 1 } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Upper bounds so a hostile config cannot make one login burn gigabytes or minutes. */
const MAX_N = 1 << 20;
const MAX_RP = 16;

export interface ScryptHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  hash: Buffer;
}

export class PasswordHashError extends Error {}

function derive(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // maxmem: scrypt needs 128 * N * r bytes; Node's default cap (32 MiB) is too small for N = 2^17 and up.
    scrypt(password, salt, keylen, { ...opts, maxmem: 256 * (opts.N ?? 1) * (opts.r ?? 1) + 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

export async function hashPassword(
  password: string,
  params: { N?: number; r?: number; p?: number } = {},
): Promise<string> {
  const N = params.N ?? DEFAULTS.N;
  const r = params.r ?? DEFAULTS.r;
  const p = params.p ?? DEFAULTS.p;
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(password, salt, KEY_BYTES, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parse a stored hash; throws PasswordHashError naming what is wrong (used when loading users). */
export function parsePasswordHash(text: string): ScryptHash {
  const parts = text.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') {
    throw new PasswordHashError('expected scrypt$N$r$p$salt$hash (make one with `zephyr2mqtt passwd USER`)');
  }
  const [, nText = '', rText = '', pText = '', saltText = '', hashText = ''] = parts;
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  if (!Number.isInteger(N) || N < 2 || N > MAX_N || (N & (N - 1)) !== 0) {
    throw new PasswordHashError(`scrypt N must be a power of two between 2 and ${MAX_N}, got "${nText}"`);
  }
  if (!Number.isInteger(r) || r < 1 || r > MAX_RP || !Number.isInteger(p) || p < 1 || p > MAX_RP) {
    throw new PasswordHashError(`scrypt r and p must be integers between 1 and ${MAX_RP}`);
  }
  if (!B64.test(saltText) || !B64.test(hashText)) throw new PasswordHashError('salt and hash must be base64');
  const hash = Buffer.from(hashText, 'base64');
  if (hash.length < 16) throw new PasswordHashError('hash is shorter than 16 bytes');
  return { N, r, p, salt: Buffer.from(saltText, 'base64'), hash };
}

/** True when `password` matches `stored`. A malformed stored hash verifies nothing (false), it never throws. */
export async function verifyPassword(password: string, stored: string | ScryptHash): Promise<boolean> {
  let parsed: ScryptHash;
  try {
    parsed = typeof stored === 'string' ? parsePasswordHash(stored) : stored;
  } catch {
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.hash.length, { N: parsed.N, r: parsed.r, p: parsed.p });
  return timingSafeEqual(key, parsed.hash);
}
