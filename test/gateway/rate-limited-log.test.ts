// The decode/broker warning limiter: a flood logs a few lines, then one summary when its window ends, even if
// the flood stopped.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../gateway/logger.js';
import { RateLimitedLog } from '../../gateway/rate-limited-log.js';

function recordingLogger() {
  const lines: Array<[Record<string, unknown>, string]> = [];
  const logger = { warn: (obj: Record<string, unknown>, msg: string) => void lines.push([obj, msg]) };
  return { lines, logger: logger as unknown as Logger };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('RateLimitedLog', () => {
  it('opens the next window on time when the wall clock is set back (NTP on a board without a real-time clock)', () => {
    const { lines, logger } = recordingLogger();
    const log = new RateLimitedLog(logger, 1, 1000);
    log.warn('k', {}, 'first');
    vi.setSystemTime(Date.now() - 2 * 3600_000);
    vi.advanceTimersByTime(1000);
    log.warn('k', {}, 'next window');
    expect(lines.map(([, msg]) => msg)).toEqual(['first', 'next window']);
  });

  it('logs the summary when the window ends although no further warning arrives', () => {
    const { lines, logger } = recordingLogger();
    const log = new RateLimitedLog(logger, 2, 1000);
    for (let i = 0; i < 5; i++) log.warn('k', { i }, 'bad');
    expect(lines.map(([, msg]) => msg)).toEqual(['bad', 'bad']);
    vi.advanceTimersByTime(999);
    expect(lines).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(lines.at(-1)).toEqual([{ key: 'k', suppressed: 3 }, 'suppressed repeated warnings']);
    vi.advanceTimersByTime(10_000);
    expect(lines).toHaveLength(3);
  });

  it('logs each summary once when the flood goes on into the next window', () => {
    const { lines, logger } = recordingLogger();
    const log = new RateLimitedLog(logger, 1, 1000);
    log.warn('k', {}, 'a');
    log.warn('k', {}, 'a');
    vi.advanceTimersByTime(1000);
    log.warn('k', {}, 'b');
    log.warn('k', {}, 'b');
    log.warn('k', {}, 'b');
    vi.advanceTimersByTime(1000);
    expect(lines.map(([obj, msg]) => (msg === 'suppressed repeated warnings' ? obj.suppressed : msg))).toEqual([
      'a',
      1,
      'b',
      2,
    ]);
  });

  it('keeps no timer for keys that never suppressed anything, and one per key while suppressing', () => {
    const { logger } = recordingLogger();
    const log = new RateLimitedLog(logger, 2, 1000);
    for (let k = 0; k < 50; k++) log.warn(`quiet${k}`, {}, 'x');
    expect(vi.getTimerCount()).toBe(0);
    for (let i = 0; i < 100; i++) log.warn('noisy', {}, 'x');
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('summarises an expired window at the next warning when its timer has not run yet', () => {
    const { lines, logger } = recordingLogger();
    const log = new RateLimitedLog(logger, 1, 1000);
    log.warn('k', {}, 'a', 0);
    log.warn('k', {}, 'a', 1);
    log.warn('k', {}, 'b', 5000);
    expect(lines.map(([, msg]) => msg)).toEqual(['a', 'suppressed repeated warnings', 'b']);
    vi.runAllTimers();
    expect(lines).toHaveLength(3);
  });
});
