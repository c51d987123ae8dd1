// A config reload replaces every device client: what the old one still had in flight is cancelled, not left to
// retransmit. A /set the user was told failed must not reach the device later, and the old client's unanswered
// registration must not take offline a device the new client reaches.
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { type CoapHarness, coapHarness, stopHarnessesAfterEach } from './harness.js';
import { closeDevicesAfterEach, scriptedDevice, sleep } from './scripted-device.js';

closeDevicesAfterEach();
stopHarnessesAfterEach();

/** Moves the device from one port to the other in the config file and reloads it. */
async function moveDevice(h: CoapHarness, from: number, to: number) {
  const text = await readFile(h.gw.configPath, 'utf8');
  await writeFile(h.gw.configPath, text.replace(`port: ${from}`, `port: ${to}`));
  expect(await h.gw.request(h.mqtt, 'config/reload')).toMatchObject({ status: 'ok' });
}

/** Adds a device that has nothing to do with 'node', turns on node's SMP (its own transport), changes node's core
 * keys (name, description, throttle: the gateway's, not its client's) and reloads. */
async function addOtherDevice(h: CoapHarness) {
  const text = await readFile(h.gw.configPath, 'utf8');
  await writeFile(h.gw.configPath, text.replace('devices:', 'devices:\n  - id: other\n    transport: coap'));
  expect(await h.gw.request(h.mqtt, 'config/reload')).toMatchObject({ status: 'ok' });
  const options = { smp: true, name: 'Node', description: 'on the shelf', throttle: 0.05 };
  expect(await h.gw.request(h.mqtt, 'device/options', { id: 'node', options })).toMatchObject({ status: 'ok' });
}

describe('a config reload', () => {
  it('cancels a /set in flight: it fails at once and is not retransmitted', async () => {
    const silent = await scriptedDevice();
    const live = await scriptedDevice((m, d) => d.answerPing(m));
    const resources = { led: { path: '/led', method: 'PUT' } };
    // MAX_TRANSMIT_WAIT is 4.65 s: without the cancel the PUT keeps going out for seconds.
    const h = await coapHarness([{ id: 'node', transport: 'coap', address: '::1', port: silent.port, resources }], {
      ack_timeout: 0.1,
      max_retransmit: 4,
      request_timeout: 10,
    });
    const failed = await h.gw.expectMessage<{ error?: string }>(h.mqtt, 'zephyr2mqtt/node/set/error');
    await h.mqtt.publishAsync('zephyr2mqtt/node/set', JSON.stringify({ led: 'on' }));
    await silent.waitFor((m) => m.code === '0.03');
    await moveDevice(h, silent.port, live.port);
    expect(await failed.message).toMatchObject({ error: expect.stringMatching(/cancelled/) });
    const cancelledAt = Date.now();
    // Longer than the next two ACK timeouts (0.2 s and 0.4 s, * 1.5 at most).
    await sleep(900);
    expect(silent.withCode('0.03').filter((r) => r.at > cancelledAt)).toEqual([]);
  });

  it("does not let the old client's unanswered registration take the device offline", async () => {
    const silent = await scriptedDevice();
    let sequence = 2;
    const live = await scriptedDevice((m, d) => {
      if (d.answerPing(m)) return;
      if (m.type === 'CON' && m.code === '0.01')
        d.ack(m, { code: '2.05', options: [[6, [sequence++]]], payload: '21' });
    });
    const resources = { temp: { path: '/temp', observe: true } };
    // Left alone, the old registration would be given up 0.7 to 1.05 s after it went out (MAX_RETRANSMIT 2).
    const h = await coapHarness([{ id: 'node', transport: 'coap', address: '::1', port: silent.port, resources }], {
      ack_timeout: 0.1,
      max_retransmit: 2,
      request_timeout: 10,
    });
    const online = () => h.gw.gateway.devices.get('node')?.online;
    const registered = await silent.waitFor((m) => m.code === '0.01');
    await moveDevice(h, silent.port, live.port);
    await live.waitFor((m) => m.code === '0.01');
    await expect.poll(online, { timeout: 2000, interval: 20 }).toBe(true);
    const movedAt = Date.now();
    await sleep(Math.max(0, registered.at + 1150 - movedAt));
    expect(online()).toBe(true);
    expect(silent.withCode('0.01').filter((r) => r.at > movedAt)).toEqual([]);
  });

  it('leaves the requests and observations of a device whose entry did not change, or only its smp or core keys, alone', async () => {
    let held: CoapMessage | undefined;
    const device = await scriptedDevice((m, d) => {
      if (d.answerPing(m)) return;
      if (m.code === '0.01' && m.path[0] === 'temp') d.ack(m, { code: '2.05', options: [[6, [2]]], payload: '1' });
      else if (m.code === '0.01' && m.path[0] === 'info') held = m;
    });
    const resources = { temp: { path: '/temp', observe: true } };
    const h = await coapHarness([{ id: 'node', transport: 'coap', address: '::1', port: device.port, resources }], {
      ack_timeout: 0.5,
      max_retransmit: 4,
      request_timeout: 10,
    });
    await device.waitFor((m) => m.code === '0.01');
    const pending = h.gw.request(h.mqtt, 'device/coap', { device: 'node', method: 'GET', path: '/info' });
    await expect.poll(() => held, { timeout: 3000, interval: 10 }).toBeDefined();
    const reloadedAt = Date.now();
    await addOtherDevice(h);
    if (!held) throw new Error('unreachable');
    device.ack(held, { code: '2.05', payload: 'v1' });
    expect(await pending).toMatchObject({ status: 'ok', data: { code: '2.05', payload: 'v1' } });
    // The observation was not registered again.
    expect(device.withCode('0.01').filter((r) => r.at > reloadedAt && r.message.path[0] === 'temp')).toEqual([]);
  });
});
