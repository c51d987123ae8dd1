// A create() the host no longer waits for (it outlived the start timeout, or a stop or a newer start came meanwhile)
// is treated like a late start: the instance it yields is never started, it is stopped, nothing it reports reaches
// the gateway, and the host's status and restarts are those of what happened meanwhile.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdapterContext, AdapterModule, AdapterStatus } from '../../gateway/adapter.js';
import { AdapterHost } from '../../gateway/adapter-host.js';
import { deferred } from '../../gateway/deferred.js';
import { silentLogger } from '../../gateway/logger.js';
import {
  createTestAdapterModule,
  type TestAdapterConfig,
  type TestAdapterInstance,
  testAdapterConfigSchema,
} from '../helpers/test-adapter.js';
import { stopReturnsAtTheBudget } from './stop-budget.js';

afterEach(() => {
  vi.useRealTimers();
});

/** The test adapter whose first create() waits (loading its code, say) until the test settles it; the next ones
 * do not wait. Records what reaches the gateway through the context and which instances were started. */
function hostWithHeldCreate(options: { startTimeoutMs?: number } = {}) {
  const test = createTestAdapterModule();
  const gate = deferred();
  const started: TestAdapterInstance[] = [];
  let creates = 0;
  const module: AdapterModule<TestAdapterConfig> = {
    ...test.module,
    async create(config, ctx) {
      if (creates++ === 0) await gate.promise;
      const instance = (await test.module.create(config, ctx)) as TestAdapterInstance;
      const start = instance.start.bind(instance);
      instance.start = () => {
        started.push(instance);
        return start();
      };
      return instance;
    },
  };
  const reports: string[] = [];
  const context = {
    devices: () => [{ id: 'dev1', transport: 'test' }],
    telemetry: (id: string) => void reports.push(`telemetry ${id}`),
    availability: (id: string, online: boolean) => void reports.push(`availability ${id} ${online}`),
  } as unknown as AdapterContext;
  const statuses: AdapterStatus[] = [];
  const config = testAdapterConfigSchema.parse({ online_on_start: true });
  const host = new AdapterHost(module as AdapterModule<unknown>, config, context, silentLogger(), {
    ...options,
    statusChanged: (s) => statuses.push(s),
  });
  return { test, gate, started, reports, statuses, host };
}

describe('a create() the host no longer waits for', () => {
  it('outliving the start timeout: failed and retried; the instance it yields later is stopped, never started, unheard', async () => {
    const { test, gate, started, reports, statuses, host } = hostWithHeldCreate({ startTimeoutMs: 100 });
    vi.useFakeTimers();
    const starting = host.start();
    await vi.advanceTimersByTimeAsync(100);
    await starting;
    expect(statuses).toEqual([{ state: 'failed', reason: 'did not finish within 0.1 s' }]);
    await vi.advanceTimersByTimeAsync(1000); // the retry, whose create() does not wait
    const retried = test.current();
    expect(host.adapter).toBe(retried);
    reports.length = 0;

    gate.resolve(); // the first create() ends at last
    await vi.advanceTimersByTimeAsync(3000);
    const late = test.instances.find((i) => i !== retried);
    late?.ctx.telemetry('dev1', { late: true });

    expect(late?.stopped).toBe(true);
    expect(started).toEqual([retried]);
    expect(reports).toEqual([]);
    expect(retried.stopped).toBe(false);
    expect(host.adapter).toBe(retried);
    expect(host.status().state).toBe('running');
    expect(statuses.map((s) => s.state)).toEqual(['failed', 'running']);
    await host.stop();
  });

  it('outliving the start timeout and then failing: no unhandled rejection, the retry goes on', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { test, gate, host } = hostWithHeldCreate({ startTimeoutMs: 100 });
      vi.useFakeTimers();
      const starting = host.start();
      await vi.advanceTimersByTimeAsync(100);
      await starting;
      gate.reject(new Error('the code did not load'));
      await vi.advanceTimersByTimeAsync(1000); // the retry
      vi.useRealTimers();
      await new Promise((resolve) => setTimeout(resolve, 10)); // unhandled rejections are reported after a turn
      expect(unhandled).toEqual([]);
      expect(host.adapter).toBe(test.current());
      expect(host.status().state).toBe('running');
      await host.stop();
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('with a stop meanwhile: the stop waits for it (within its 3 s) and stops what it yields, never started', async () => {
    const { test, gate, started, reports, statuses, host } = hostWithHeldCreate();
    const starting = host.start();
    const stopping = host.stop();
    expect(host.status()).toEqual({ state: 'stopped' });
    gate.resolve();
    await stopping;
    const [instance] = test.instances;
    expect(instance?.stopped).toBe(true);
    instance?.ctx.availability('dev1', true);
    await starting;

    expect(started).toEqual([]);
    expect(reports).toEqual([]);
    expect(statuses).toEqual([]);
    expect(host.status()).toEqual({ state: 'stopped' });
  });

  it('with a stop meanwhile that outlives the stop budget: stopped whenever it ends', async () => {
    const { test, gate, started, host } = hostWithHeldCreate();
    vi.useFakeTimers();
    const starting = host.start();
    await stopReturnsAtTheBudget(host);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    await starting;

    expect(test.instances[0]?.stopped).toBe(true);
    expect(started).toEqual([]);
    expect(host.status()).toEqual({ state: 'stopped' });
  });

  it('with a reload meanwhile (a stop and a start): the newer start runs, the late instance is stopped', async () => {
    const { test, gate, started, statuses, host } = hostWithHeldCreate({ startTimeoutMs: 100 });
    vi.useFakeTimers();
    const first = host.start();
    await vi.advanceTimersByTimeAsync(50);
    const reloading = (async () => {
      await host.stop();
      await host.start();
    })();
    gate.resolve(); // within the stop's budget: the stop waits for it
    await vi.advanceTimersByTimeAsync(0);
    await reloading;
    await first;
    const [late, current] = test.instances;

    expect(late?.stopped).toBe(true);
    expect(started).toEqual([current]);
    expect(host.adapter).toBe(current);
    expect(statuses.map((s) => s.state)).toEqual(['running']);
    await vi.advanceTimersByTimeAsync(120_000); // no failure, no restart
    expect(test.instances).toHaveLength(2);
    await host.stop();
  });
});
