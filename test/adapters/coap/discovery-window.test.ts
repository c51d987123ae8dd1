// Multicast discovery waits long enough for devices that delay their answer up to Leisure (RFC 7252 §8.2.1, 5 s
// by default; libcoap waits 2-4.5 s), and an answer after the window is dropped quietly, not rejected with RST.
import { describe, expect, it } from 'vitest';
import { coapAdapterConfigSchema } from '../../../adapters/coap/config.js';
import { discoveryOptions, MulticastDiscovery } from '../../../adapters/coap/discovery.js';
import type { CoapClientResponse } from '../../../adapters/coap/endpoint.js';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { RecordingContext } from '../lwm2m/recording-context.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

const isDiscovery = (m: CoapMessage) => m.type === 'NON' && m.path.join('/') === '.well-known/core';

/** A device that answers a discovery request with a NON 2.05 after `leisureMs`. */
function leisurely(leisureMs: number) {
  return scriptedDevice((m, d) => {
    if (!isDiscovery(m)) return;
    const token = [...m.token];
    setTimeout(
      () => d.send({ type: 'NON', code: '2.05', mid: 900, token, options: [[12, [40]]], payload: '</x>' }),
      leisureMs,
    );
  });
}

describe('multicast discovery window', () => {
  it('collects an answer sent 3 s late with the default window', async () => {
    const device = await leisurely(3000);
    const config = coapAdapterConfigSchema.parse({ interfaces: ['lo'], multicast_groups: ['::1'] });
    expect(discoveryOptions(config).windowMs).toBe(6000);
    expect(discoveryOptions({ ...config, discovery_window: 10 }).windowMs).toBe(10_000);
    const ctx = new RecordingContext();
    ctx.permit = true;
    const discovery = new MulticastDiscovery(await endpoint(), ctx, {
      ...discoveryOptions(config),
      port: device.port,
    });
    await discovery.round();
    expect(ctx.facts.filter((f) => f.type === 'deviceSeen')).toHaveLength(1);
  }, 15_000);

  it('drops an answer that comes after the window without a RST', async () => {
    const device = await leisurely(300);
    const client = await endpoint();
    const answers: CoapClientResponse[] = [];
    const request = {
      peer: { address: '::1', port: device.port },
      method: 'GET' as const,
      path: ['.well-known', 'core'],
    };
    // The late answer reaches the client as a response nobody waits for any more.
    const late = new Promise<void>((resolve) => client.onStrayResponse(() => resolve()));
    await client.multicast(request, 100, (res) => answers.push(res));
    await device.waitFor((m) => m.type === 'NON');
    await late;
    // A ping sent after it is answered after anything the client sent back for the answer.
    device.send({ type: 'CON', code: '0.00', mid: 901 });
    const pong = await device.waitFor((m) => m.type === 'RST' && m.messageId === 901);
    expect(answers).toEqual([]);
    expect(device.received.filter((r) => r !== pong).map((r) => r.message.type)).toEqual(['NON']);
  });
});
