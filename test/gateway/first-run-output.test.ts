// What a first run prints: the "started" line names the dashboard URL and each adapter's state (with the port an
// adapter listens on), an empty device list gets a hint how to onboard one, and a host without Bluetooth gets
// one info line about the BLE retries rather than one a minute forever.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type Line = Record<string, unknown> & { msg: string; level: number };

/** A debug-level logger that keeps its lines; `until` resolves once `accept` holds for them (bounded). */
function recordingLogger() {
  const lines: Line[] = [];
  const wakers = new Set<() => void>();
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as Line);
        for (const wake of [...wakers]) wake();
        cb();
      },
    }),
  );
  const until = (accept: (lines: Line[]) => boolean, timeoutMs = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        wakers.delete(wake);
        reject(new Error(`log never matched:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
      }, timeoutMs);
      const wake = () => {
        if (!accept(lines)) return;
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      wakers.add(wake);
      wake();
    });
  return { logger, lines, until };
}

describe('first-run output', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('the started line has the dashboard URL and the adapters; no devices: a hint how to add one', async () => {
    const log = recordingLogger();
    gw = await startTestGateway(
      { adapters: { coap: { enabled: true, bind: '127.0.0.1', port: 0 } }, devices: [] },
      { logger: log.logger, adapterModules: [createTestAdapterModule().module] },
    );
    const started = log.lines.find((l) => l.msg === 'zephyr2mqtt started');
    const coapPort = (gw.gateway.adapterStatuses().coap?.details as { port?: number } | undefined)?.port;
    expect(coapPort).toBeGreaterThan(0);
    expect(started).toMatchObject({
      dashboard: `${gw.httpUrl}/`,
      adapters: {
        coap: { state: 'running', port: coapPort },
        serial: { state: 'stopped' },
        ble: { state: 'stopped' },
        test: { state: 'running' },
      },
    });
    const hint = log.lines[log.lines.indexOf(started as Line) + 1]?.msg ?? '';
    expect(hint).toContain('Permit join in the dashboard');
    expect(hint).toContain('{"value":120} to zephyr2mqtt/bridge/request/permit_join');
    expect(hint).toContain(
      'device_seen_unknown event on zephyr2mqtt/bridge/event to zephyr2mqtt/bridge/request/device/add',
    );
  });

  it('no dashboard URL when the dashboard is off, and no hint once devices are configured', async () => {
    const log = recordingLogger();
    gw = await startTestGateway(
      { http: { dashboard: false }, devices: [{ id: 'door', transport: 'test' }] },
      { logger: log.logger, adapterModules: [createTestAdapterModule().module] },
    );
    const started = log.lines.find((l) => l.msg === 'zephyr2mqtt started');
    expect(started).toBeDefined();
    expect(started).not.toHaveProperty('dashboard');
    expect(log.lines.some((l) => l.msg.includes('permit_join'))).toBe(false);
  });

  it('BLE without Bluetooth: the first retry notice at info, the following ones at debug', async () => {
    const log = recordingLogger();
    gw = await startTestGateway(
      {
        adapters: {
          ble: {
            enabled: true,
            binding: '/nonexistent/binding.js',
            unavailable_retry_min_ms: 10,
            unavailable_retry_max_ms: 20,
          },
        },
      },
      { logger: log.logger },
    );
    const retries = () => log.lines.filter((l) => l.msg === 'ble: will retry opening Bluetooth');
    await log.until(() => retries().length >= 4);
    expect(
      retries()
        .slice(0, 4)
        .map((l) => l.level),
    ).toEqual([30, 20, 20, 20]);
  });
});
