// `log_levels: {<adapter>: debug}` shows each value a device sent and each command sent to it, under that adapter's
// logger; at the default level none of it is logged.
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('debug logging per adapter', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function run(logLevels: Record<string, 'debug'>) {
    const log = captureLogger();
    log.logger.level = 'info'; // the root level a default config gives (main.ts sets it from gateway.log_level)
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { gateway: { log_levels: logLevels }, devices: [{ id: 'lamp', transport: 'test' }] },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    const client = await gw.connect();
    const state = await gw.expectMessage<Record<string, unknown>>(client, 'zephyr2mqtt/lamp', (s) => s.watts === 7);
    adapter.current().ctx.telemetry('lamp', { watts: 7 });
    await state.message;
    // The test adapter carries a /set out and reports the values set: the state follows after the command.
    const commanded = await gw.expectMessage<Record<string, unknown>>(
      client,
      'zephyr2mqtt/lamp',
      (s) => s.on_off === true,
    );
    await client.publishAsync('zephyr2mqtt/lamp/set', JSON.stringify({ on_off: true }));
    await commanded.message;
    return log.lines.filter((l) => ['device data', 'command', 'command done'].includes(String(l.msg)));
  }

  it('logs device data and commands at debug for the adapter whose level is debug', async () => {
    const lines = await run({ test: 'debug' });
    expect(lines.map((l) => [l.msg, l.device])).toEqual([
      ['device data', 'lamp'],
      ['command', 'lamp'],
      ['command done', 'lamp'],
    ]);
    expect(lines[0]).toMatchObject({ level: 20, values: { watts: 7 } });
    expect(lines[1]).toMatchObject({ command: 'set', payload: { on_off: true } });
  });

  it('logs none of it at the default level', async () => {
    expect(await run({})).toEqual([]);
  });
});
