/** What every SMP decoder returns: a value, or the reason the bytes were rejected. Decoders never throw. */
export type DecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

export const ok = <T>(value: T): DecodeResult<T> => ({ ok: true, value });
export const fail = <T = never>(reason: string): DecodeResult<T> => ({ ok: false, reason });
