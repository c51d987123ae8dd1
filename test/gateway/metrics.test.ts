// The gateway's own event-loop lag gauge: the sampling interval is not lag, and scrapes closer than one sample apart.
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createMetrics, lagSeconds } from '../../gateway/metrics.js';

const lag = (text: string, figure: 'p99' | 'max'): number =>
  Number(new RegExp(`^zephyr2mqtt_event_loop_lag_${figure}_seconds (\\S+)$`, 'm').exec(text)?.[1]);

describe('event-loop lag', () => {
  it('does not count the 20 ms sampling interval as lag', () => {
    expect(lagSeconds(20_000_000)).toBe(0);
    expect(lagSeconds(19_000_000)).toBe(0);
    expect(lagSeconds(25_000_000)).toBeCloseTo(0.005, 9);
  });

  it('never reports a p99 above the max, also for a scrape right after another (an empty histogram)', async () => {
    const metrics = createMetrics();
    try {
      await delay(100); // the sampler takes a sample every 20 ms: let it take a few
      for (let scrape = 0; scrape < 3; scrape++) {
        const text = await metrics.registry.metrics();
        expect(lag(text, 'p99')).toBeGreaterThanOrEqual(0);
        expect(lag(text, 'p99')).toBeLessThanOrEqual(lag(text, 'max'));
      }
    } finally {
      metrics.close();
    }
  });
});
