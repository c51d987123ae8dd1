// AdapterHost isolates one adapter: start failures, hangs and crashes become a `failed` status and a restart
// with back-off, never an exception for the gateway.
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Adapter, AdapterContext, AdapterModule, AdapterStatus } from '../../gateway/adapter.js';
import { AdapterHost } from '../../gateway/adapter-host.js';
import { deferred } from '../../gateway/deferred.js';
import { silentLogger } from '../../gateway/logger.js';
import { captureLogger } from '../broker/helpers.js';
import { gateStarts } from '../helpers/start-gates.js';
import { createTestAdapterModule, testAdapterConfigSchema } from '../helpers/test-adapter.js';
import { stopReturnsAtTheBudget } from './stop-budget.js';

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

  it('a stop() while create() is still loading the code never starts the adapter, and stops it once made', async () => {
    let started = 0;
    let stopped = 0;
    const { host, release } = hostWhoseCodeIsLoading();
    const starting = host.start();
    await Promise.resolve();
    const stopping = host.stop();
    release(adapter({ start: async () => void started++, stop: async () => void stopped++ }));
    await stopping;
    await starting;
    expect(started).toBe(0);
    expect(stopped).toBe(1);
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

describe('AdapterHost stopping an adapter whose start() is still running', () => {
  /** The test adapter behind a gate, on a host that records what it reports. */
  function gatedHost(options: { startTimeoutMs?: number } = {}) {
    const gates = gateStarts(createTestAdapterModule().module);
    const statuses: AdapterStatus[] = [];
    const context = { devices: () => [] } as unknown as AdapterContext;
    const host = new AdapterHost(gates.module, testAdapterConfigSchema.parse({}), context, silentLogger(), {
      ...options,
      statusChanged: (s) => statuses.push(s),
    });
    return { gates, host, statuses };
  }

  it('stops it once its start has ended, not alongside it, and reports nothing for it', async () => {
    const { gates, host, statuses } = gatedHost();
    const held = gates.holdNext();
    const starting = host.start();
    await held.reached;
    const stopping = host.stop();
    expect(host.adapter).toBeUndefined(); // no command reaches it meanwhile
    expect(host.status()).toEqual({ state: 'stopped' });
    await held.release();
    await stopping;
    await starting;
    const [instance] = gates.instances;
    expect(instance?.adapter.status().state).toBe('stopped');
    expect(instance?.stops).toEqual([true]);
    expect(statuses).toEqual([]);
    expect(host.status()).toEqual({ state: 'stopped' });
  });

  it('waits at most 3 s for a start that hangs, and stops the adapter whenever that start ends', async () => {
    const { gates, host } = gatedHost();
    const held = gates.holdNext();
    vi.useFakeTimers();
    try {
      const starting = host.start();
      await held.reached;
      await stopReturnsAtTheBudget(host);
      const [instance] = gates.instances;
      expect(instance?.stops).toEqual([]);
      await held.release();
      await instance?.stopped;
      await starting;
      expect(instance?.stops).toEqual([true]);
      expect(instance?.adapter.status().state).toBe('stopped');
    } finally {
      vi.useRealTimers();
    }
  });

  it('stops a start that timed out once it ends, not alongside it', async () => {
    const { gates, host, statuses } = gatedHost({ startTimeoutMs: 100 });
    const held = gates.holdNext();
    await host.start();
    expect(statuses).toEqual([{ state: 'failed', reason: 'did not finish within 0.1 s' }]);
    const [instance] = gates.instances;
    expect(instance?.stops).toEqual([]);
    await held.release();
    await instance?.stopped;
    expect(instance?.stops).toEqual([true]);
    expect(instance?.adapter.status().state).toBe('stopped');
    await host.stop(); // the retry
  });

  it('after a fatal error during the start: failed and restarting, the instance stopped once its start ends', async () => {
    const { gates, host, statuses } = gatedHost();
    const held = gates.holdNext();
    const starting = host.start();
    await held.reached;
    host.fail(new Error('socket died'));
    await held.release();
    await starting;
    const [instance] = gates.instances;
    await instance?.stopped;
    expect(instance?.stops).toEqual([true]);
    expect(instance?.adapter.status().state).toBe('stopped');
    expect(statuses).toEqual([{ state: 'failed', reason: 'socket died' }]);
    expect(host.status()).toEqual({ state: 'failed', reason: 'socket died' });
    await host.stop(); // the restart
  });
});

describe('AdapterHost after a failed start', () => {
  it('a reload that stops and starts the adapter while the failed instance stops is not undone by that failed start', async () => {
    // The first instance fails to start (its port is taken) and takes its time to stop; a reload that changes the
    // adapter's config stops and starts it meanwhile, and the new instance runs.
    const failedStopping = deferred();
    const failedStopped = deferred();
    const instances: Adapter[] = [];
    let restarts = 0;
    const statuses: AdapterStatus[] = [];
    const host = new AdapterHost(
      moduleWith(() => {
        const first = instances.length === 0;
        const made = adapter(
          first
            ? {
                start: async () => Promise.reject(new Error('port in use')),
                stop: async () => {
                  failedStopping.resolve();
                  await failedStopped.promise;
                },
              }
            : {},
        );
        instances.push(made);
        return made;
      }),
      {},
      ctx,
      silentLogger(),
      { restarting: () => restarts++, statusChanged: (s) => statuses.push(s) },
    );
    vi.useFakeTimers();
    try {
      const failing = host.start();
      await failedStopping.promise;
      await host.stop();
      await host.start();
      expect(host.status()).toEqual({ state: 'running' });
      failedStopped.resolve();
      await failing;

      expect(host.status()).toEqual({ state: 'running' });
      expect(host.adapter).toBe(instances[1]);
      await vi.advanceTimersByTimeAsync(120_000); // no restart was scheduled for the instance that failed
      expect(restarts).toBe(0);
      expect(instances).toHaveLength(2);
      expect(statuses).toEqual([{ state: 'running' }]);
      await host.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});
