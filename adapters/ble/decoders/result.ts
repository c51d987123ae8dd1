/** What every pure decoder returns: a typed value or a typed error, never a throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): DecodeResult<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): DecodeResult<T> => ({ ok: false, error });

/** raw × factor without binary noise for decimal factors: 2345 × 0.01 gives 23.45, not 23.450000000000003. */
export function scaled(raw: number, factor: number): number {
  if (factor === 1) return raw;
  const inverse = 1 / factor;
  if (Number.isInteger(Math.round(inverse * 1e9) / 1e9)) return raw / Math.round(inverse);
  return Math.round(raw * factor * 1e9) / 1e9;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
