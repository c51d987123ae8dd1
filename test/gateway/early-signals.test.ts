// holdSignals(): what `run` holds while it loads the gateway, and that release() gives the signals back.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GATEWAY_SIGNALS, holdSignals } from '../../gateway/early-signals.js';

function listenerCounts(): number[] {
  return GATEWAY_SIGNALS.map((signal) => process.listenerCount(signal));
}

describe('holdSignals', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('holds the signals in order of arrival and hands each over once', () => {
    const early = holdSignals();
    process.emit('SIGHUP', 'SIGHUP');
    process.emit('SIGTERM', 'SIGTERM');
    process.emit('SIGHUP', 'SIGHUP');
    expect(early.release()).toEqual(['SIGHUP', 'SIGTERM', 'SIGHUP']);
    expect(early.release()).toEqual([]);
  });

  it('release() removes its handlers, so that the default action comes back after a failed load', () => {
    const before = listenerCounts();
    const early = holdSignals();
    expect(listenerCounts()).toEqual(before.map((n) => n + 1));
    early.release();
    expect(listenerCounts()).toEqual(before);
  });

  it('a second stop signal exits with 1 at once; a SIGHUP in between does not count as one', () => {
    const exit = vi.spyOn(process, 'exit').mockImplementation(() => undefined as never);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const early = holdSignals();
    try {
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGHUP', 'SIGHUP');
      expect(exit).not.toHaveBeenCalled();
      process.emit('SIGTERM', 'SIGTERM');
      expect(exit).toHaveBeenCalledWith(1);
      expect(stderr).toHaveBeenCalledWith(
        'zephyr2mqtt: second stop signal (SIGTERM) while loading, exiting without a clean stop\n',
      );
    } finally {
      early.release();
    }
  });
});
