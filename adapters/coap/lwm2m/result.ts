/** What every LwM2M decoder returns: a value or a reason, never a throw. */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

export const ok = <T>(value: T): Decoded<T> => ({ ok: true, value });
export const fail = <T = never>(error: string): Decoded<T> => ({ ok: false, error });
