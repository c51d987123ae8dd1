// The prom-client defaults the gateway exports: none that reads wrong on an idle gateway or after NTP set the clock.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, type GatewayMetrics } from '../../gateway/metrics.js';

const START_TIME = 'zephyr2mqtt_process_start_time_seconds';
const value = (text: string, name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('default metrics', () => {
  let metrics: GatewayMetrics | undefined;
  afterEach(() => {
    metrics?.close();
    metrics = undefined;
    vi.useRealTimers();
  });

  it('computes the process start time when scraped, so it follows the clock NTP set after start-up', async () => {
    const startTime = async () => value(await (metrics as GatewayMetrics).registry.metrics(), START_TIME);
    const expected = () => Date.now() / 1000 - process.uptime();
    vi.useFakeTimers({ toFake: ['Date'], now: Date.parse('1970-01-01T01:00:00Z') }); // booted without an RTC
    metrics = createMetrics();
    expect(Math.abs((await startTime()) - expected())).toBeLessThanOrEqual(1);
    vi.setSystemTime(Date.parse('2026-12-06T12:00:00Z')); // NTP set the clock
    expect(Math.abs((await startTime()) - expected())).toBeLessThanOrEqual(1);
  });

  it('exports no event-loop lag that counts its sampling interval, only zephyr2mqtt_event_loop_lag_*', async () => {
    metrics = createMetrics();
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/eventloop_lag|event_loop_lag_seconds/);
    expect(text).toMatch(/^# TYPE zephyr2mqtt_event_loop_lag_p99_seconds gauge$/m);
    expect(text).toMatch(/^# TYPE zephyr2mqtt_event_loop_lag_max_seconds gauge$/m);
    expect(text).toMatch(/^zephyr2mqtt_nodejs_heap_size_used_bytes /m); // the other defaults stay
  });

  it('exports the active handles, requests and resources without the _total of a counter (they are gauges)', async () => {
    metrics = createMetrics();
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/nodejs_active_\w+_total/);
    for (const what of ['handles', 'requests', 'resources'])
      expect(text).toMatch(new RegExp(`^# TYPE zephyr2mqtt_nodejs_active_${what} gauge$`, 'm'));
  });
});
