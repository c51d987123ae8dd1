import { describe, expect, it } from 'vitest';
import { PoisonGuard } from '../../gateway/upstream/poison-guard.js';

/** One connection: sends `seqs`, gets `answers` acknowledgements, lives `ms` after the first send, then closes. */
function connection(guard: PoisonGuard, clock: { t: number }, seqs: number[], answers = 0, ms = 50) {
  guard.connectionStarted();
  const limit = guard.maxInflight();
  for (const seq of seqs.slice(0, limit)) guard.sent(seq);
  for (let i = 0; i < answers; i++) guard.answered();
  clock.t += ms;
  return { limit, verdict: guard.connectionClosed() };
}

describe('poison guard', () => {
  it('tries a message alone after three quick closes starting with it, and gives it up when that closes too', () => {
    const clock = { t: 0 };
    const guard = new PoisonGuard(() => clock.t);
    for (let i = 0; i < 3; i++)
      expect(connection(guard, clock, [7, 8, 9])).toEqual({ limit: Infinity, verdict: undefined });
    expect(connection(guard, clock, [7, 8, 9])).toEqual({
      limit: 1,
      verdict: { seq: 7, strikes: 4, topic: undefined, bytes: 0 },
    });
    expect(guard.maxInflight()).toBe(Infinity);
  });

  it('lets go of a suspect once anything is acknowledged (a flaky link, not a refused message)', () => {
    const clock = { t: 0 };
    const guard = new PoisonGuard(() => clock.t);
    for (let i = 0; i < 3; i++) connection(guard, clock, [7, 8]);
    expect(connection(guard, clock, [7, 8], 1)).toEqual({ limit: 1, verdict: undefined });
    expect(connection(guard, clock, [7, 8])).toEqual({ limit: Infinity, verdict: undefined });
  });

  it('ignores connections that lived long after their first publish, or sent nothing, or started elsewhere', () => {
    const clock = { t: 0 };
    const guard = new PoisonGuard(() => clock.t);
    for (let i = 0; i < 5; i++) expect(connection(guard, clock, [7], 0, 11_000).verdict).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(connection(guard, clock, []).verdict).toBeUndefined();
    for (let i = 0; i < 8; i++) expect(connection(guard, clock, [i]).verdict).toBeUndefined();
    expect(guard.maxInflight()).toBe(Infinity);
  });
});
