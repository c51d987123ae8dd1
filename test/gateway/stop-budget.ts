// With fake timers on: a host's stop() that waits for an instance still starting returns at the 3 s stop budget, not
// a millisecond earlier.
import { expect, vi } from 'vitest';
import type { AdapterHost } from '../../gateway/adapter-host.js';

export async function stopReturnsAtTheBudget(host: AdapterHost): Promise<void> {
  let stopReturned = false;
  const stopping = host.stop().then(() => {
    stopReturned = true;
  });
  await vi.advanceTimersByTimeAsync(2999);
  expect(stopReturned).toBe(false);
  await vi.advanceTimersByTimeAsync(1);
  await stopping;
}
