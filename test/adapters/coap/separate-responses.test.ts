// What the gateway answers to a device's separate responses (RFC 7252 §5.2.2): a retransmitted copy gets the same
// ACK as the first (§4.5), and one that arrives after the request's deadline is ACKed too, its content ignored: it
// comes from a live device, and a RST would only tell it something is wrong.
import { describe, expect, it } from 'vitest';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import type { Script } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

const { start } = scriptedNode({ led: { path: '/led' } });

/** Acknowledge a GET at once and answer it later with a CON 2.05 of message id `mid`. */
function answerSeparately(mid: number, afterMs: number): Script {
  return (m, d) => {
    if (m.code !== '0.01' || m.type !== 'CON') return;
    d.ack(m);
    setTimeout(() => d.send({ type: 'CON', code: '2.05', mid, token: [...m.token], payload: 'on' }), afterMs);
  };
}

const replyTo = (mid: number) => (m: CoapMessage) => (m.type === 'ACK' || m.type === 'RST') && m.messageId === mid;

describe('separate responses', () => {
  it('answers a retransmitted copy with the same ACK as the first', async () => {
    const { device, h } = await start(answerSeparately(2000, 20));
    const state = await h.gw.expectMessage<{ led?: string }>(h.mqtt, 'zephyr2mqtt/node', (s) => s.led === 'on');
    await h.mqtt.publishAsync('zephyr2mqtt/node/get', JSON.stringify({ led: '' }));
    await state.message;
    const first = await device.waitFor(replyTo(2000));
    expect(first.message.type).toBe('ACK');
    const copy = device.received.length;
    // The device did not get that ACK and sends the response again.
    const token = [...(device.withCode('0.01')[0]?.message.token ?? [])];
    device.send({ type: 'CON', code: '2.05', mid: 2000, token, payload: 'on' });
    expect((await device.waitFor(replyTo(2000), 2000, copy)).message.type).toBe('ACK');
  });

  it('ACKs a response that comes after the deadline and keeps the device online', async () => {
    const { device, h } = await start(answerSeparately(3000, 800), { request_timeout: 0.4 });
    const failed = await h.gw.expectMessage<{ error: string }>(h.mqtt, 'zephyr2mqtt/node/get/error');
    await h.mqtt.publishAsync('zephyr2mqtt/node/get', JSON.stringify({ led: '' }));
    expect((await failed.message).error).toMatch(/acknowledged, but no response before the deadline/);
    // It acknowledged the request: slow, not gone.
    expect(h.gw.gateway.devices.get('node')?.online).toBe(true);
    expect((await device.waitFor(replyTo(3000))).message.type).toBe('ACK');
    // A ping sent after it is answered after the gateway has handled the late response: done with it by then.
    device.send({ type: 'CON', code: '0.00', mid: 3001 });
    await device.waitFor(replyTo(3001));
    expect(h.gw.gateway.devices.get('node')?.state).not.toHaveProperty('led');
  });
});
