// zephyr2mqtt_messages_total{direction="in"} for what the gateway reads from a device's own CoAP server: an answer
// that does not decode counts as a decode error only, like a /ps payload the gateway refuses.
import { describe, expect, it } from 'vitest';
import { sampleValue } from '../../gateway/prom-text.js';
import type { Script } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

const { start } = scriptedNode({ reading: { path: '/reading', poll: 0.5 } });

/** The first poll of /reading gets JSON that does not parse, the next ones {"t":1} (Content-Format 50). */
let first = 1;
const device: Script = (m, d) => {
  if (d.answerPing(m) || m.code !== '0.01' || m.type !== 'CON') return;
  d.ack(m, { code: '2.05', options: [[12, [50]]], payload: first-- > 0 ? '{"bad' : '{"t":1}' });
};

describe('CoAP device answers and the message count', () => {
  it('counts an answer that does not decode in decode_errors_total only', async () => {
    const { h } = await start(device);
    // Answers are read in order, and the next poll is half a second away: exactly one bad and one good answer.
    await h.gw
      .expectMessage<Record<string, unknown>>(h.mqtt, 'zephyr2mqtt/node', (s) => JSON.stringify(s).includes('"t":1'))
      .then((e) => e.message);
    const text = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
    expect(sampleValue(text, 'zephyr2mqtt_decode_errors_total', { adapter: 'coap', reason: 'coap_payload' })).toBe(1);
    expect(sampleValue(text, 'zephyr2mqtt_messages_total', { adapter: 'coap', direction: 'in' })).toBe(1);
  });
});
