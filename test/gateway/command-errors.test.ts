// zephyr2mqtt_command_errors_total counts every command answered with an error and every failed bridge request.
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { sampleValue } from './prom-text.js';

const commandErrors = async (gw: TestGateway, adapter: string) =>
  sampleValue(await (await fetch(`${gw.httpUrl}/metrics`)).text(), 'zephyr2mqtt_command_errors_total', { adapter });

describe('command_errors_total', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('counts /set and /get refused for their payload or device, per transport, and "none" for an unknown device', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'dev1', transport: 'test' },
          { id: 'spare', transport: 'test', disabled: true },
        ],
      },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    const refuse = async (id: string, kind: 'set' | 'get', payload: string) => {
      const error = await gw!.expectMessage(client, `zephyr2mqtt/${id}/${kind}/error`);
      await client.publishAsync(`zephyr2mqtt/${id}/${kind}`, payload);
      await error.message;
    };
    await refuse('dev1', 'set', '{"led":'); // not JSON
    await refuse('dev1', 'set', '[1]'); // not an object
    await refuse('dev1', 'get', '"x"');
    await refuse('spare', 'set', '{"led":1}'); // disabled
    await refuse('ghost', 'set', '{"led":1}'); // not configured
    await refuse('ghost', 'set', '{"led":'); // not configured, not JSON
    await refuse('dev1', 'set', '{"fail":"busy"}'); // the adapter failed it
    expect(await commandErrors(gw, 'test')).toBe(5);
    expect(await commandErrors(gw, 'none')).toBe(2);
    // A command that went through counts nothing.
    const state = await gw.expectMessage<{ led?: number }>(client, 'zephyr2mqtt/dev1', (m) => m.led === 1);
    await client.publishAsync('zephyr2mqtt/dev1/set', '{"led":1}');
    await state.message;
    expect(await commandErrors(gw, 'test')).toBe(5);
  });

  it('counts bridge requests answered with an error as adapter="bridge"', async () => {
    gw = await startTestGateway();
    const client = await gw.connect();
    expect((await gw.request(client, 'no/such/request')).status).toBe('error');
    expect((await gw.request(client, 'device/remove', { id: 'ghost' })).status).toBe('error');
    expect((await gw.request(client, 'info')).status).toBe('ok');
    expect(await commandErrors(gw, 'bridge')).toBe(2);
  });
});
