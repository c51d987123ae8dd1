// An adapter instance that a reload replaced cannot publish over its successor: what it still reports (device
// state, availability) is not published, and its fatal error does not restart the new instance.
import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

describe('an adapter instance replaced by a reload', () => {
  it('publishes nothing over the new instance, and its fatal error leaves the new one running', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    const old = adapter.current();
    const doc = parseDocument(await readFile(gw.configPath, 'utf8'));
    doc.setIn(['adapters', 'test', 'online_on_start'], true); // a changed adapter config: stopped and started again
    await writeFile(gw.configPath, doc.toString());
    await gw.gateway.reload('test');
    const current = adapter.current();
    expect(current).not.toBe(old);
    expect(gw.gateway.devices.get('dev1')?.online).toBe(true);
    const client = await gw.connect();
    const seen: string[] = [];
    client.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`));
    await client.subscribeAsync('zephyr2mqtt/dev1/#');

    old.ctx.availability('dev1', false);
    old.ctx.telemetry('dev1', { from: 'old' });
    old.ctx.fatal?.(new Error('socket died'));

    expect(gw.gateway.devices.get('dev1')?.online).toBe(true);
    expect(gw.gateway.info().adapters).toMatchObject({ test: { state: 'running' } });
    expect(current.stopped).toBe(false);
    // Published in order: once the new instance's marker arrives, anything the old one got published came before.
    const marker = await gw.expectMessage<Record<string, unknown>>(client, 'zephyr2mqtt/dev1', (m) => m.marker === 1);
    current.ctx.telemetry('dev1', { marker: 1 });
    expect(await marker.message).not.toHaveProperty('from');
    expect(seen.filter((m) => m.includes('offline') || m.includes('"from"'))).toEqual([]);
  });
});
