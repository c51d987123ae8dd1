import { connect, Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openListener } from '../../gateway/broker/listeners.js';

describe('MQTT over TCP without Nagle', () => {
  afterEach(() => vi.restoreAllMocks());

  it('turns TCP_NODELAY on for each connection before the broker handles it', async () => {
    const setNoDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    let callsWhenHandled: unknown[][] | undefined;
    let handled = () => {};
    const connected = new Promise<void>((resolve) => {
      handled = resolve;
    });
    const listener = await openListener(
      { type: 'mqtt', host: '127.0.0.1', port: 0 },
      (stream) => {
        callsWhenHandled = setNoDelay.mock.calls.map((call) => [...call]);
        stream.destroy();
        handled();
      },
      { maxFrameBytes: 1024 },
    );
    const client = connect(listener.address.port, '127.0.0.1');
    client.on('error', () => {});
    await connected;
    client.destroy();
    await listener.close();
    expect(callsWhenHandled).toContainEqual([true]);
  });
});
