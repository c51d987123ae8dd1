import { describe, expect, it } from 'vitest';
import { Limiter } from '../../../adapters/coap/lwm2m/limiter.js';
import { deferred } from '../../../gateway/deferred.js';

describe('Limiter', () => {
  it('runs at most max tasks at once, the rest in arrival order, and frees a slot when a task fails', async () => {
    const limiter = new Limiter(3);
    const gates = Array.from({ length: 10 }, () => deferred());
    const started: number[] = [];
    let inFlight = 0;
    let peak = 0;
    const results = gates.map((gate, i) =>
      limiter.run(async () => {
        started.push(i);
        inFlight++;
        peak = Math.max(peak, inFlight);
        try {
          await gate.promise;
          return i;
        } finally {
          inFlight--;
        }
      }),
    );
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.active).toBe(3);
    expect(limiter.waiting).toBe(7);
    gates[1]?.reject(new Error('boom'));
    await expect(results[1]).rejects.toThrow('boom');
    expect(started).toEqual([0, 1, 2, 3]);
    for (const [i, gate] of gates.entries()) if (i !== 1) gate.resolve();
    const settled = await Promise.allSettled(results);
    expect(settled.map((r) => (r.status === 'fulfilled' ? r.value : 'failed'))).toEqual([
      0,
      'failed',
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
    ]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(limiter.active).toBe(0);
    expect(limiter.waiting).toBe(0);
  });

  it('keeps order through many more waiting tasks than slots', async () => {
    const limiter = new Limiter(2);
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        limiter.run(async () => {
          order.push(i);
          await Promise.resolve();
        }),
      ),
    );
    expect(order).toEqual(Array.from({ length: 500 }, (_, i) => i));
    expect(limiter.active).toBe(0);
  });
});
