// A command cut short because the adapter stops (a reload that changes adapters.coap restarts it) says so to the
// MQTT requester, but is no verdict on the device: the device stays online. Only a device that leaves a command
// unacknowledged on its own goes offline.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { psSetRequests } from './ps-set-requests.js';
import { closePeersAfterEach, rawPeer } from './raw-peer.js';
import { type CoapGateway, startCoapGateway } from './restartable-gateway.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

let g: CoapGateway | undefined;
let dataDir = '';
afterEach(async () => {
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});
// Registered after the hook above, so that they run first: devices close, then peers, then the gateway stops.
closePeersAfterEach();
closeDevicesAfterEach();

type SetError = { error?: string };

/** Every availability the gateway publishes for `id` from now on. */
async function availabilityOf(g: CoapGateway, id: string): Promise<string[]> {
  const seen: string[] = [];
  const topic = `zephyr2mqtt/${id}/availability`;
  g.mqtt.on('message', (t, payload) => {
    if (t === topic) seen.push((JSON.parse(payload.toString()) as { state: string }).state);
  });
  await g.mqtt.subscribeAsync(topic, { qos: 1 });
  return seen;
}

/** Changes adapters.coap.ack_timeout in the config file and reloads: the adapter stops and starts again. */
async function restartAdapter(g: CoapGateway, ackTimeout: number): Promise<void> {
  const doc = parseDocument(await readFile(g.gw.configPath, 'utf8'));
  doc.setIn(['adapters', 'coap', 'ack_timeout'], ackTimeout);
  await writeFile(g.gw.configPath, doc.toString());
  expect(await g.gw.request(g.mqtt, 'config/reload')).toMatchObject({ status: 'ok' });
}

describe('a command cut short by a reload that restarts the CoAP adapter', () => {
  it('to a /ps/<id>/set observer: fails saying the adapter stopped, and the device stays online', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-coap-stop-command-'));
    // The notification is retransmitted for seconds: still unacknowledged when the adapter stops.
    g = await startCoapGateway(dataDir, [{ id: 'dev1', transport: 'coap' }], { coap: { ack_timeout: 2 } });
    const peer = await rawPeer();
    const { next: get } = psSetRequests('dev1');
    expect((await peer.exchange(get({ observe: true }), g.port))?.observe).toBeTypeOf('number');
    expect(g.gw.gateway.devices.get('dev1')?.online).toBe(true);
    const published = await availabilityOf(g, 'dev1');
    const failed = await g.gw.expectMessage<SetError>(g.mqtt, 'zephyr2mqtt/dev1/set/error');
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    expect((await peer.next(5000))?.payload.toString()).toBe('{"led":"on"}'); // and never acknowledged

    await restartAdapter(g, 1);
    expect(await failed.message).toMatchObject({ error: expect.stringMatching(/adapter stopped/) });
    expect(g.gw.gateway.devices.get('dev1')?.online).toBe(true);
    expect(published).not.toContain('offline');
  });

  it('to a device the gateway sends requests to: fails, and the device stays online', async () => {
    let answered = false;
    // Answers the first request (its resource's first read), then nothing: the /set is retransmitted.
    const device = await scriptedDevice((m, d) => {
      if (m.type !== 'CON' || answered) return;
      answered = true;
      d.ack(m, { code: '2.05', payload: '1' });
    });
    const resources = { led: { path: '/led', method: 'PUT', poll: 3600 } };
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-coap-stop-command-'));
    g = await startCoapGateway(
      dataDir,
      [{ id: 'node', transport: 'coap', address: '::1', port: device.port, resources }],
      { coap: { ack_timeout: 2, request_timeout: 30 } },
    );
    await device.waitFor((m) => m.code === '0.01');
    const published = await availabilityOf(g, 'node');
    await g.gw.waitForMessage<{ state: string }>(g.mqtt, 'zephyr2mqtt/node/availability', (m) => m.state === 'online');
    const failed = await g.gw.expectMessage<SetError>(g.mqtt, 'zephyr2mqtt/node/set/error');
    await g.mqtt.publishAsync('zephyr2mqtt/node/set', JSON.stringify({ led: 'on' }));
    await device.waitFor((m) => m.code === '0.03');

    await restartAdapter(g, 1);
    expect(await failed.message).toMatchObject({ error: expect.stringMatching(/was cancelled/) });
    expect(g.gw.gateway.devices.get('node')?.online).toBe(true);
    expect(published).not.toContain('offline');
  });
});
