// The saves of /ps/<id>/set relations are coalesced: a burst of changes is one write, a change during a write is
// the next one, a failing disk is reported once and retried, and a closed writer writes no more.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CoalescedWrites } from '../../../adapters/coap/coalesced-writes.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A write that ends when the test says so. */
function controlledWrite() {
  const ends: Array<(error?: Error) => void> = [];
  const write = vi.fn(
    () =>
      new Promise<void>((resolve, reject) => {
        ends.push((error) => (error ? reject(error) : resolve()));
      }),
  );
  const end = async (error?: Error) => {
    ends.shift()?.(error);
    await vi.advanceTimersByTimeAsync(0);
  };
  return { write, end };
}

describe('CoalescedWrites', () => {
  it('writes a burst of changes once, and a change made during the write once more', async () => {
    const { write, end } = controlledWrite();
    const writes = new CoalescedWrites(write, 1000, 30_000, () => {});
    for (let i = 0; i < 300; i++) writes.changed();
    await vi.advanceTimersByTimeAsync(999);
    expect(write).toHaveBeenCalledTimes(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(write).toHaveBeenCalledTimes(1);
    for (let i = 0; i < 50; i++) writes.changed();
    await vi.advanceTimersByTimeAsync(5000);
    expect(write).toHaveBeenCalledTimes(1); // one write at a time
    await end();
    await vi.advanceTimersByTimeAsync(1000);
    expect(write).toHaveBeenCalledTimes(2);
    await end();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(write).toHaveBeenCalledTimes(2);
  });

  it('reports a failing write once, retries it later, and says when writes work again', async () => {
    const { write, end } = controlledWrite();
    const reports: unknown[] = [];
    const writes = new CoalescedWrites(write, 1000, 30_000, (e) => reports.push(e));
    writes.changed();
    await vi.advanceTimersByTimeAsync(1000);
    await end(new Error('ENOSPC'));
    writes.changed();
    await vi.advanceTimersByTimeAsync(29_999);
    expect(write).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(write).toHaveBeenCalledTimes(2);
    await end(new Error('ENOSPC'));
    await vi.advanceTimersByTimeAsync(30_000);
    await end();
    expect(reports.map((r) => (r instanceof Error ? r.message : r))).toEqual(['ENOSPC', undefined]);
  });

  it('writes at once on flush, after the write under way, and nothing after close', async () => {
    const { write, end } = controlledWrite();
    const writes = new CoalescedWrites(write, 1000, 30_000, () => {});
    writes.changed();
    await vi.advanceTimersByTimeAsync(1000);
    writes.changed();
    let closed = false;
    const closing = writes.close().then(() => {
      closed = true;
    });
    await end();
    expect(write).toHaveBeenCalledTimes(2);
    expect(closed).toBe(false);
    await end();
    await closing;
    writes.changed();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(write).toHaveBeenCalledTimes(2);
  });
});
