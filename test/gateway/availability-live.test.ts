import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('availability reaches subscribers that are already listening', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('delivers online/offline live, between the state and bridge/devices messages published around it', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const client = await gw.connect();
    const live: string[] = [];
    client.on('message', (topic, payload, packet) => {
      if (topic === 'zephyr2mqtt/dev1/availability' && !packet.retain) live.push(payload.toString());
    });
    await client.subscribeAsync('zephyr2mqtt/#', { qos: 0 });
    const ctx = adapter.current().ctx;
    ctx.telemetry('dev1', { temperature: 20 });
    await expect.poll(() => live, { timeout: 5000 }).toEqual(['{"state":"online"}']);
    ctx.availability('dev1', false);
    await expect.poll(() => live, { timeout: 5000 }).toEqual(['{"state":"online"}', '{"state":"offline"}']);
  });
});
