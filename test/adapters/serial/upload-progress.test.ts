// Upload progress the Zigbee2MQTT way: percent and seconds left, at most once per interval and always at 100 %.
import { describe, expect, it } from 'vitest';
import { UploadProgressThrottle } from '../../../adapters/common/smp/upload-progress.js';

describe('UploadProgressThrottle', () => {
  it('reports at most once per second, always the end, and estimates the time left from the rate', () => {
    let now = 0;
    const throttle = new UploadProgressThrottle(1000, () => now);
    now = 500;
    expect(throttle.update(100, 1000)).toEqual({ progress: 10, remaining: 5 });
    now = 1400;
    expect(throttle.update(300, 1000)).toBeUndefined();
    now = 1500;
    // 425 of 1000 bytes in 1.5 s: 575 more take about 2 s.
    expect(throttle.update(425, 1000)).toEqual({ progress: 42.5, remaining: 2 });
    now = 1600;
    expect(throttle.update(1000, 1000)).toEqual({ progress: 100, remaining: 0 });
    now = 5000;
    expect(throttle.update(1000, 1000)).toBeUndefined();
  });

  it('rounds progress down, so that 100 means done', () => {
    const throttle = new UploadProgressThrottle(0, () => 1);
    expect(throttle.update(99_999, 100_000)?.progress).toBe(99.99);
  });
});
