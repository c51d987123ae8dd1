// An adapter whose start() is still running when a reload turns it off or the gateway shuts down (a retry fired by
// the back-off, say) is stopped once that start has ended: it does not go on running, with its devices reported
// online, after the gateway let go of it.
import { readFile, writeFile } from 'node:fs/promises';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { logTail } from '../../gateway/dashboard/log-tail.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { gateStarts } from '../helpers/start-gates.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

/** The test adapter whose first start fails and whose retry, 1 s later, waits until the test releases it. */
async function gatewayWithHeldRetry() {
  const gates = gateStarts(createTestAdapterModule().module);
  gates.failNext();
  const retry = gates.holdNext();
  gw = await startTestGateway(
    { adapters: { test: { online_on_start: true } } as never, devices: [{ id: 'dev1', transport: 'test' }] },
    { adapterModules: [gates.module], logger: pino({ level: 'info', base: undefined }, logTail) },
  );
  await retry.reached;
  const retried = gates.instances[1];
  if (!retried) throw new Error('the retry made no adapter');
  return { gw, retry, retried };
}

describe('an adapter whose start is still running', () => {
  it('is stopped once that start has ended when a reload turns it off, and its devices stay offline', async () => {
    const { gw, retry, retried } = await gatewayWithHeldRetry();
    const client = await gw.connect();
    const waits = await gw.expectMessage<{ message: string }>(
      client,
      'zephyr2mqtt/bridge/logging',
      (m) => m.message === 'adapter test is still starting: it is stopped once its start has ended',
    );
    const doc = parseDocument(await readFile(gw.configPath, 'utf8'));
    doc.setIn(['adapters', 'test', 'enabled'], false);
    await writeFile(gw.configPath, doc.toString());
    const reloading = gw.gateway.reload('test');
    // The reload waits for the start, and says so (a gateway that did not wait would have finished the reload).
    await Promise.race([waits.message, reloading]);
    await retry.release();
    await reloading;

    expect(gw.gateway.devices.get('dev1')?.online).toBe(false);
    expect(retried.adapter.status().state).toBe('stopped');
    expect(retried.stops).toEqual([true]);
    const observer = await gw.connect();
    expect(await gw.waitForMessage(observer, 'zephyr2mqtt/dev1/availability')).toEqual({ state: 'offline' });
    expect(gw.gateway.info().adapters).toMatchObject({ test: { state: 'stopped', reason: 'disabled in the config' } });
  });

  it('is stopped once that start has ended when the gateway shuts down', async () => {
    const { gw, retry, retried } = await gatewayWithHeldRetry();
    const stopping = gw.gateway.stop(); // stops the adapters first, before its first wait
    await retry.release();
    await stopping;

    expect(retried.adapter.status().state).toBe('stopped');
    expect(retried.stops).toEqual([true]);
  });
});
