// closedAfterEach(): what its hook closes, in which order, and when it waits.
import { describe, expect, it } from 'vitest';
import { closedAfterEach } from './closed-after-each.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

describe('closedAfterEach() one after the other', () => {
  const log: string[] = [];
  const opened = closedAfterEach(async (n: number) => {
    log.push(`close ${n}`);
    await tick();
    log.push(`closed ${n}`);
  });
  opened.afterEach();

  it('returns what it adds', () => {
    expect(opened.add(1)).toBe(1);
    opened.add(2);
    expect(log).toEqual([]);
  });

  it('closed them in the order added, each awaited before the next, and forgot them', () => {
    expect(log).toEqual(['close 1', 'closed 1', 'close 2', 'closed 2']);
  });

  it('closes nothing more after a test that added nothing', () => {
    expect(log).toHaveLength(4);
  });
});

describe('closedAfterEach() with synchronous closes', () => {
  const log: string[] = [];
  const opened = closedAfterEach((n: number) => {
    log.push(`close ${n}`);
    if (n === 1) queueMicrotask(() => log.push('microtask'));
  });
  opened.afterEach();

  it('adds two', () => {
    opened.add(1);
    opened.add(2);
  });

  it('closed them all in the hook call itself, not a microtask apart', () => {
    expect(log).toEqual(['close 1', 'close 2', 'microtask']);
  });
});

describe('closedAfterEach() together', () => {
  const log: string[] = [];
  const opened = closedAfterEach(
    async (n: number) => {
      log.push(`close ${n}`);
      await tick();
      log.push(`closed ${n}`);
    },
    { together: true },
  );
  opened.afterEach();

  it('adds two', () => {
    opened.add(1);
    opened.add(2);
  });

  it('closed them all at once and awaited them all', () => {
    expect(log).toEqual(['close 1', 'close 2', 'closed 1', 'closed 2']);
  });
});
