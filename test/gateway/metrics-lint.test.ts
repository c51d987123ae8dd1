// /metrics passes Prometheus' own checks: the in-repo lint always, and `promtool check metrics` where installed.
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { type InProcessUpstream, startUpstreamAedes } from '../upstream/brokers.js';
import { lintExposition } from './exposition-lint.js';

/** promtool's findings, or undefined when it is not installed (Debian's `prometheus` package has it). */
function promtool(text: string): { status: number | null; output: string } | undefined {
  const run = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
  return { status: run.status, output: `${run.stdout}${run.stderr}`.trim() };
}

describe('the exposition lint', () => {
  it('finds what promtool 2.42 reported on /metrics', () => {
    const text = [
      '# HELP x_lag_seconds lag',
      '# TYPE x_lag_seconds gauge',
      'x_lag_seconds{quantile="0.99"} 0',
      '# HELP x_active_handles_total handles',
      '# TYPE x_active_handles_total gauge',
      'x_active_handles_total 3',
      '# TYPE x_untold counter',
      'x_untold 1',
      'x_unknown 1',
    ].join('\n');
    expect(lintExposition(text).sort()).toEqual(
      [
        'x_lag_seconds: a gauge must not have a "quantile" label',
        'x_active_handles_total: a gauge must not end in _total',
        'x_untold: a counter must end in _total',
        'x_untold: no HELP',
        'x_unknown: no TYPE',
        'x_unknown: no HELP',
      ].sort(),
    );
  });

  it('passes a summary and a histogram with their own series', () => {
    const text = [
      '# HELP s summary',
      '# TYPE s summary',
      's{quantile="0.5"} 1',
      's_sum 1',
      's_count 1',
      '# HELP h_seconds histogram',
      '# TYPE h_seconds histogram',
      'h_seconds_bucket{le="+Inf"} 1',
      'h_seconds_sum 1',
      'h_seconds_count 1',
    ].join('\n');
    expect(lintExposition(text)).toEqual([]);
  });
});

describe('/metrics of a running gateway', () => {
  let gw: TestGateway | undefined;
  let upstream: InProcessUpstream | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await upstream?.close();
    upstream = undefined;
  });

  it('passes the lint, and promtool check metrics where installed', async () => {
    // Every part that registers metrics: an adapter with a device, the broker, the upstream bridge.
    upstream = await startUpstreamAedes();
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [{ id: 'dev1', transport: 'test' }],
        bridge: { enabled: true, url: upstream.url, protocol_version: '3.1.1' },
      },
      { adapterModules: [adapter.module] },
    );
    adapter.current().ctx.decodeError('bad_frame', { deviceId: 'dev1' });
    await (await fetch(`${gw.httpUrl}/metrics`)).text(); // the event-loop gauges' first window
    const text = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(text).toMatch(/^zephyr2mqtt_upstream_queue_depth /m);
    expect(lintExposition(text)).toEqual([]);
    const checked = promtool(text);
    if (checked) expect(checked).toEqual({ status: 0, output: '' });
  });
});
