// What an adapter instance reports after its host let go of it (stopped past the stop budget, or replaced by a
// restart while its stop still runs) is ignored, said once at debug; its fatal error restarts nothing. A stop that
// ends within the budget is still heard.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdapterContext } from '../../gateway/adapter.js';
import { AdapterHost } from '../../gateway/adapter-host.js';
import { deferred } from '../../gateway/deferred.js';
import { captureLogger } from '../broker/helpers.js';
import { gateStarts } from '../helpers/start-gates.js';
import { createTestAdapterModule, type TestAdapterInstance, testAdapterConfigSchema } from '../helpers/test-adapter.js';

const DROPPED = /^adapter test: an instance no longer running reported after it was stopped or replaced/;

afterEach(() => {
  vi.useRealTimers();
});

/** The test adapter (reporting dev1 online once started) behind start gates, on a host that records what reaches
 * the gateway through its context. */
function recordingHost(options: { startTimeoutMs?: number } = {}) {
  const test = createTestAdapterModule();
  const gates = gateStarts(test.module);
  const reports: string[] = [];
  const context = {
    devices: () => [{ id: 'dev1', transport: 'test' }],
    telemetry: (id: string) => void reports.push(`telemetry ${id}`),
    deviceStatus: (id: string) => void reports.push(`deviceStatus ${id}`),
    availability: (id: string, online: boolean) => void reports.push(`availability ${id} ${online}`),
    statusChanged: () => void reports.push('statusChanged'),
  } as unknown as AdapterContext;
  const log = captureLogger();
  const config = testAdapterConfigSchema.parse({ online_on_start: true });
  const host = new AdapterHost(gates.module, config, context, log.logger, options);
  const dropped = () => log.lines.filter((l) => l.level === 20 && DROPPED.test(l.msg));
  return { test, gates, host, reports, dropped };
}

/** Holds `instance`'s stop until the returned gate is resolved. */
function holdStop(instance: TestAdapterInstance): () => void {
  const gate = deferred();
  const stop = instance.stop.bind(instance);
  instance.stop = async () => {
    await gate.promise;
    await stop();
  };
  return gate.resolve;
}

describe('reports of an adapter instance its host let go of', () => {
  it('from a start that outlives the stop budget: ignored once the budget has passed, said once at debug', async () => {
    const { test, gates, host, reports, dropped } = recordingHost();
    const held = gates.holdNext();
    vi.useFakeTimers();
    const starting = host.start();
    await held.reached;
    const stopping = host.stop();
    await vi.advanceTimersByTimeAsync(3000);
    await stopping;
    await held.release(); // its start goes on, and reports dev1 online
    await starting;
    const [instance] = test.instances;
    const verdict = instance?.ctx.telemetry('dev1', { late: true });
    instance?.ctx.statusChanged?.();

    expect(gates.instances[0]?.stops).toEqual([true]);
    expect(reports).toEqual([]);
    expect(verdict).toBe('stopped'); // not accepted: a transport that answers the device says so
    expect(dropped()).toHaveLength(1);
  });

  it('from a start that timed out: ignored from the moment the host reports it failed', async () => {
    const { test, gates, host, reports, dropped } = recordingHost({ startTimeoutMs: 100 });
    const held = gates.holdNext();
    await host.start();
    expect(host.status().state).toBe('failed');
    await held.release(); // its start goes on, and reports dev1 online
    await gates.instances[0]?.stopped;
    test.instances[0]?.ctx.telemetry('dev1', { late: true });

    expect(reports).toEqual([]);
    expect(dropped()).toHaveLength(1);
    await host.stop(); // the retry
  });

  /** An upload's failure reported by a stop: at once, or (BLE's SMP client) after climbing through its awaits. */
  const reportsOfAStop: Array<[string, (report: () => void) => void]> = [
    ['made inside it', (report) => report()],
    [
      'set in motion by it, a few promise steps after it ended',
      (report) =>
        void (async () => {
          for (let step = 0; step < 20; step++) await Promise.resolve();
          report();
        })(),
    ],
  ];
  it.each(reportsOfAStop)('from a stop that ends within the budget, %s: still heard', async (_when, when) => {
    const { test, host, reports, dropped } = recordingHost();
    await host.start();
    const instance = test.current();
    const stop = instance.stop.bind(instance);
    instance.stop = async () => {
      when(() => instance.ctx.deviceStatus('dev1', { update: { state: 'failed' } }));
      await stop();
    };
    reports.length = 0;
    await host.stop();

    expect(reports).toEqual(['deviceStatus dev1']);
    expect(dropped()).toEqual([]);
  });

  it('replaced by the restart after its fatal error while its stop still runs: ignored, its fatal restarts nothing', async () => {
    const { test, host, reports, dropped } = recordingHost();
    vi.useFakeTimers();
    await host.start();
    const first = test.current();
    const letStopEnd = holdStop(first);
    first.ctx.fatal?.(new Error('socket died'));
    await vi.advanceTimersByTimeAsync(1000); // the first back-off: the restart, within the first one's stop budget
    const second = test.current();
    expect(second).not.toBe(first);
    expect(host.status().state).toBe('running');
    reports.length = 0;

    first.ctx.availability('dev1', false);
    first.ctx.fatal?.(new Error('socket died again'));

    expect(reports).toEqual([]);
    expect(dropped()).toHaveLength(1);
    expect(host.adapter).toBe(second);
    expect(second.stopped).toBe(false);
    expect(host.status().state).toBe('running');
    letStopEnd();
    await host.stop();
  });
});
