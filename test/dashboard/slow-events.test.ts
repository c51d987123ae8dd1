// A /api/events reader that stops reading is disconnected instead of having the gateway buffer for it.
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { MAX_BUFFERED_BYTES } from '../../gateway/dashboard/event-streams.js';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('dashboard event stream back-pressure', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('closes a stalled event stream once 256 KiB more than its snapshot is waiting for it', async () => {
    const log = captureLogger();
    gw = await startTestGateway({}, { logger: log.logger });
    const port = Number(new URL(gw.httpUrl).port);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {}); // a reset when the gateway drops the stream is fine
    let received = 0;
    socket.on('data', (d: Buffer) => {
      received += d.length;
    });
    socket.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    // The response head and snapshot: the gateway has opened the stream.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause(); // reads nothing more: the kernel buffers fill, then the gateway's would

    const state = JSON.stringify({ blob: 'x'.repeat(15_000) }); // under the model's 16 KiB per state
    const count = 300;
    for (let i = 0; i < count; i++) await gw.gateway.broker.publish('zephyr2mqtt/dev1', state);
    await expect.poll(() => log.lines.some((l) => l.msg === 'dashboard event stream not read, closed')).toBe(true);

    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).toBeLessThan((count * state.length) / 2);
  });

  it('opens a stream whose snapshot alone is larger than that, and keeps it', async () => {
    const log = captureLogger();
    gw = await startTestGateway({}, { logger: log.logger });
    const state = JSON.stringify({ blob: 'x'.repeat(15_000) }); // under the model's 16 KiB per state
    for (let i = 0; i < 24; i++) await gw.gateway.broker.publish(`zephyr2mqtt/dev${i}`, state);
    const res = await fetch(`${gw.httpUrl}/api/events`);
    const reader = res.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    await reader.cancel();
    expect(text.length).toBeGreaterThan(MAX_BUFFERED_BYTES);
    expect(text).toMatch(/^event: snapshot\n/);
    expect(log.lines.filter((l) => l.msg === 'dashboard event stream not read, closed')).toEqual([]);
  });
});
