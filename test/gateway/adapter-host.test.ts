// AdapterHost isolates one adapter: start failures, hangs and crashes become a `failed` status and a restart
// with back-off, never an exception for the gateway.
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Adapter, AdapterContext, AdapterModule, AdapterStatus } from '../../gateway/adapter.js';
import { AdapterHost } from '../../gateway/adapter-host.js';
import { silentLogger } from '../../gateway/logger.js';
import { captureLogger } from '../broker/helpers.js';

function moduleWith(create: () => Adapter | Promise<Adapter>): AdapterModule<unknown> {
  return { kind: 'x', configSchema: z.unknown(), deviceSchema: z.object({}), create };
}

function adapter(overrides: Partial<Adapter>): Adapter {
  return {
    kind: 'x',
    start: async () => {},
    stop: async () => {},
    status: () => ({ state: 'running' }),
    command: async () => ({}),
    ...overrides,
  };
}

const ctx = {} as AdapterContext; // the host only hands it to create()

/** A host whose create() is still loading the adapter's code until `release` hands the adapter over. */
function hostWhoseCodeIsLoading(): { host: AdapterHost; release: (a: Adapter) => void } {
  let release: (a: Adapter) => void = () => {};
  const loading = new Promise<Adapter>((r) => {
    release = r;
  });
  const host = new AdapterHost(
    moduleWith(() => loading),
    {},
    ctx,
    silentLogger(),
  );
  return { host, release: (a) => release(a) };
}

function nextStatus(statuses: AdapterStatus[]): { promise: Promise<AdapterStatus>; push: (s: AdapterStatus) => void } {
  let resolve: (s: AdapterStatus) => void = () => {};
  let promise = new Promise<AdapterStatus>((r) => {
    resolve = r;
  });
  return {
    get promise() {
      return promise;
    },
    push(s) {
      statuses.push(s);
      const r = resolve;
      promise = new Promise<AdapterStatus>((next) => {
        resolve = next;
      });
      r(s);
    },
  };
}

describe('AdapterHost', () => {
  it('a start() that never settles fails after the start timeout and is retried', async () => {
    let creates = 0;
    const statuses: AdapterStatus[] = [];
    const events = nextStatus(statuses);
    const host = new AdapterHost(
      moduleWith(() => {
        creates++;
        return adapter({ start: creates === 1 ? () => new Promise<void>(() => {}) : async () => {} });
      }),
      {},
      ctx,
      silentLogger(),
      { startTimeoutMs: 100, statusChanged: (s) => events.push(s) },
    );
    const first = events.promise;
    await host.start();
    expect(await first).toEqual({ state: 'failed', reason: 'did not finish within 0.1 s' });
    expect(host.adapter).toBeUndefined();
    const second = events.promise;
    expect(await second).toEqual({ state: 'running' }); // after the 1 s back-off
    expect(creates).toBe(2);
    await host.stop();
  });

  it('a create() that throws is a failed status, and stop() cancels the pending restart', async () => {
    let creates = 0;
    let restarts = 0;
    const host = new AdapterHost(
      moduleWith(() => {
        creates++;
        throw new Error('bad config for x');
      }),
      {},
      ctx,
      silentLogger(),
      { restarting: () => restarts++ },
    );
    vi.useFakeTimers();
    try {
      await host.start();
      expect(host.status()).toEqual({ state: 'failed', reason: 'bad config for x' });
      await vi.advanceTimersByTimeAsync(1000); // first back-off: one restart
      expect(creates).toBe(2);
      expect(restarts).toBe(1);
      await host.stop();
      await vi.advanceTimersByTimeAsync(120_000); // the pending retry was cancelled
      expect(creates).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a status() that throws is reported as failed instead of escaping', async () => {
    const host = new AdapterHost(
      moduleWith(() =>
        adapter({
          status: () => {
            throw new Error('oops');
          },
        }),
      ),
      {},
      ctx,
      silentLogger(),
    );
    await host.start();
    expect(host.status()).toEqual({ state: 'failed', reason: 'Error: oops' });
    await host.stop();
  });

  it('an asynchronous create() (code loaded on demand) reports starting, then runs the adapter', async () => {
    let started = 0;
    const { host, release } = hostWhoseCodeIsLoading();
    const starting = host.start();
    expect(host.status()).toEqual({ state: 'starting' });
    await Promise.resolve(); // let create() be called
    release(adapter({ start: async () => void started++ }));
    await starting;
    expect(started).toBe(1);
    expect(host.status()).toEqual({ state: 'running' });
    expect(host.adapter).toBeDefined();
    await host.stop();
  });

  it('a stop() while create() is still loading the code never starts the adapter', async () => {
    let started = 0;
    const { host, release } = hostWhoseCodeIsLoading();
    const starting = host.start();
    await Promise.resolve();
    await host.stop();
    release(adapter({ start: async () => void started++ }));
    await starting;
    expect(started).toBe(0);
    expect(host.adapter).toBeUndefined();
    expect(host.status()).toEqual({ state: 'stopped' });
  });

  it('logs a failed start as one line with its reason, and the stack only for a programming error', async () => {
    const lines: Array<Record<string, unknown>> = [];
    for (const error of [new Error('adapters.coap.port 5683 on ::: in use'), new TypeError('x is not a function')]) {
      const log = captureLogger();
      const host = new AdapterHost(
        moduleWith(() => adapter({ start: async () => Promise.reject(error) })),
        {},
        ctx,
        log.logger,
      );
      await host.start();
      await host.stop();
      const line = log.lines.find((l) => l.msg === 'adapter x failed to start');
      expect(line).toBeDefined();
      lines.push(line as Record<string, unknown>);
    }
    expect(lines[0]).toMatchObject({ level: 50, reason: 'adapters.coap.port 5683 on ::: in use' });
    expect(JSON.stringify(lines[0])).not.toContain('at ');
    expect((lines[1]?.err as { stack?: string } | undefined)?.stack).toContain('TypeError: x is not a function');
  });
});
