import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('gateway smoke', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('publishes bridge/state online and answers requests with the transaction echoed', async () => {
    gw = await startTestGateway();
    const client = await gw.connect();
    const state = await gw.waitForMessage<{ state: string }>(client, 'zephyr2mqtt/bridge/state');
    expect(state).toEqual({ state: 'online' });
    const res = await gw.request(client, 'permit_join', { value: 30 });
    expect(res.status).toBe('ok');
    expect(res.data).toEqual({ value: true, time: 30 });
    expect(typeof res.transaction).toBe('string');
    const bad = await gw.request(client, 'no_such_request', {});
    expect(bad).toMatchObject({ status: 'error', error: 'unknown request "no_such_request"' });
    expect(await gw.request(client, 'permit_jion', { value: true })).toMatchObject({
      error: 'unknown request "permit_jion" (did you mean "permit_join"?)',
    });
    expect(await gw.request(client, 'device/renmae', { from: 'a', to: 'b' })).toMatchObject({
      error: 'unknown request "device/renmae" (did you mean "device/rename"?)',
    });
    expect(await gw.request(client, 'device/smp', { command: 'echo' })).toMatchObject({
      error: 'missing "device": "device/smp" is passed to the adapter of the device it names',
    });
  });

  it('reports an error for /set to an unknown device instead of crashing', async () => {
    gw = await startTestGateway();
    const client = await gw.connect();
    const err = gw.waitForMessage<{ error: string }>(client, 'zephyr2mqtt/ghost/set/error');
    await client.publishAsync('zephyr2mqtt/ghost/set', '{"on": true}');
    expect((await err).error).toBe('unknown device "ghost"');
    const malformed = gw.waitForMessage<{ error: string }>(client, 'zephyr2mqtt/ghost/set/error');
    await client.publishAsync('zephyr2mqtt/ghost/set', '{not json');
    expect((await malformed).error).toBe('payload is not valid JSON');
  });
});
