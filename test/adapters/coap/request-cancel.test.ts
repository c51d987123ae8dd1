// A request the gateway is done with stops going out (RFC 7252 §4.2 lets a sender give up early): one reported
// failed on /set/error must not reach the device later through a retransmission, and one answered by a separate
// response whose ACK was lost needs no more copies.
import { describe, expect, it } from 'vitest';
import { sleep } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

/** ACK_TIMEOUT 0.2 s and MAX_RETRANSMIT 4: copies go out for up to 4.5 s, well past the 0.5 s deadline. */
const slowRetransmission = { ack_timeout: 0.2, max_retransmit: 4, request_timeout: 0.5 };

const { start } = scriptedNode({ led: { path: '/led', method: 'PUT' } });

describe('requests the gateway is done with', () => {
  it('stop being retransmitted once their failure is reported', async () => {
    const { device, h } = await start((m, d) => d.answerPing(m), slowRetransmission);
    const failed = await h.gw.expectMessage(h.mqtt, 'zephyr2mqtt/node/set/error');
    await h.mqtt.publishAsync('zephyr2mqtt/node/set', JSON.stringify({ led: 'on' }));
    await failed.message;
    const reportedAt = Date.now();
    await sleep(1800);
    expect(device.withCode('0.03').length).toBeGreaterThan(0);
    expect(device.withCode('0.03').filter((r) => r.at > reportedAt)).toEqual([]);
  });

  it('stop being retransmitted when a separate response comes before the ACK', async () => {
    let answered = false;
    const { device, h } = await start(
      (m, d) => {
        if (m.code !== '0.03' || answered) return;
        answered = true;
        // The empty ACK is lost: only the separate response arrives.
        d.send({ type: 'CON', code: '2.04', mid: 1000, token: [...m.token] });
      },
      { ack_timeout: 0.2, max_retransmit: 4 },
    );
    const response = await h.gw.expectMessage(h.mqtt, 'zephyr2mqtt/node/response');
    await h.mqtt.publishAsync('zephyr2mqtt/node/set', JSON.stringify({ led: 'on' }));
    expect(await response.message).toMatchObject({ code: '2.04' });
    const ack = await device.waitFor((m) => m.type === 'ACK' && m.messageId === 1000);
    await sleep(1500);
    expect(device.withCode('0.03').filter((r) => r.at > ack.at)).toEqual([]);
  });
});
