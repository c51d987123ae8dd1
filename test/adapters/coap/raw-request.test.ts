// bridge/request/device/coap: a JSON object or array payload goes out as JSON (Content-Format 50 unless one is
// given), a string as it is; the answer carries the response's Location-Path/-Query, Max-Age and ETag.
import { describe, expect, it } from 'vitest';
import { scriptedNode } from './scripted-node.js';

const node = scriptedNode();

/** A device that answers every request with 2.01 Created and the options of a resource it made. */
function start() {
  return node.start((m, d) => {
    if (m.type !== 'CON' || m.code === '0.00') return;
    d.ack(m, {
      code: '2.01',
      options: [
        [8, 'sensors'],
        [8, 'new 1'],
        [20, 'v=2'],
        [14, [30]],
        [4, [0xab, 0xcd]],
      ],
    });
  });
}

const ask = (data: Record<string, unknown>) => {
  const h = node.harness();
  return h?.gw.request(h.mqtt, 'device/coap', { device: 'node', ...data });
};

describe('bridge/request/device/coap', () => {
  it('sends objects and arrays as JSON, strings as they are', async () => {
    const { device } = await start();
    await ask({ method: 'POST', path: '/a', payload: { led: 'on', level: [1, 2] } });
    await ask({ method: 'PUT', path: '/b', payload: [1, 'x'], content_format: 60 });
    await ask({ method: 'PUT', path: '/c', payload: 'on', content_format: 0 });
    await ask({ method: 'PUT', path: '/d', payload: '{"raw":1}' });
    const sent = device.received.filter((r) => r.message.code !== '0.00').map((r) => r.message);
    expect(sent.map((m) => [m.path[0], m.payload.toString(), m.contentFormat])).toEqual([
      ['a', '{"led":"on","level":[1,2]}', 50],
      ['b', '[1,"x"]', 60],
      ['c', 'on', 0],
      ['d', '{"raw":1}', undefined],
    ]);
  });

  it('answers with the Location-Path, Location-Query, Max-Age and ETag of the response', async () => {
    await start();
    expect(await ask({ method: 'POST', path: '/a', payload: 'x' })).toMatchObject({
      status: 'ok',
      data: {
        code: '2.01',
        location_path: ['sensors', 'new 1'],
        location_query: ['v=2'],
        max_age: 30,
        etag: 'abcd',
      },
    });
  });
});

describe('bridge/request/device/coap to a device the gateway does not read from', () => {
  it('shares one availability probe between requests that time out together', async () => {
    // Silent: requests and pings alike go unanswered.
    const { device } = await node.start(() => {}, { ack_timeout: 0.1, max_retransmit: 2, request_timeout: 0.2 });
    const answers = await Promise.all([ask({ path: '/a' }), ask({ path: '/b' })]);
    expect(answers).toMatchObject([{ status: 'error' }, { status: 'error' }]);
    const pings = () => device.withCode('0.00').map((r) => r.message.messageId);
    // A ping's first retransmission comes 0.1 to 0.15 s after it: a second probe would have started by then.
    await expect
      .poll(() => pings().length - new Set(pings()).size, { timeout: 3000, interval: 20 })
      .toBeGreaterThanOrEqual(1);
    expect(new Set(pings()).size).toBe(1);
  });
});
