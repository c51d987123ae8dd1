// A device whose adapter the config turns off stays offline: the gateway says so at start, and its commands are
// answered with the setting to change rather than "not running".
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('devices on an adapter disabled in the config', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('are named in one warning per adapter at start; commands to them name adapters.<kind>.enabled', async () => {
    const log = captureLogger();
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        adapters: { test: { enabled: false } } as never,
        devices: [
          { id: 'uart', transport: 'test' },
          { id: 'spare', transport: 'test', disabled: true },
          { id: 'board', transport: 'test' },
        ],
      },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    expect(log.lines.filter((l) => /adapter is disabled in the config/.test(String(l.msg)))).toEqual([
      expect.objectContaining({
        level: 40,
        adapter: 'test',
        devices: ['uart', 'board'],
        msg:
          'the test adapter is disabled in the config (adapters.test.enabled: false), so its devices stay offline ' +
          'and their commands are refused: uart, board (set adapters.test.enabled: true, or disabled: true on these devices)',
      }),
    ]);
    const client = await gw.connect();
    const err = await gw.expectMessage<{ error: string; request: unknown }>(client, 'zephyr2mqtt/uart/set/error');
    await client.publishAsync('zephyr2mqtt/uart/set', '{"led":"on"}');
    expect(await err.message).toEqual({
      error: 'the test adapter is disabled in the config (adapters.test.enabled: false)',
      request: { led: 'on' },
    });
    // A device disabled itself says so first.
    const spare = await gw.expectMessage<{ error: string }>(client, 'zephyr2mqtt/spare/set/error');
    await client.publishAsync('zephyr2mqtt/spare/set', '{"led":"on"}');
    expect((await spare.message).error).toBe('device "spare" is disabled in the config');
  });
});
