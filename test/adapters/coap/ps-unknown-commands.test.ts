// GET /ps/<id>/set from a device nobody onboarded, while permit_join is on: the device is announced, and its answer
// is what an onboarded device without commands gets (no command, in the format it accepts), not a text that a
// device parsing its commands would take for one.
import { decode as cborDecode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('GET /ps/<unknown id>/set while permit_join is on', () => {
  it('announces the device and answers "no command" in the accepted format, without registering it', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    expect((await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const event = h.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      h.mqtt,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown' && m.data.name === 'actuator',
    );

    const plain = await h.send('GET', '/ps/actuator/set');
    expect([plain.code, plain.contentFormat, plain.payload.toString()]).toEqual(['2.05', 50, '{}']);
    await event;

    const cbor = await h.send('GET', '/ps/actuator/set', undefined, { accept: 60 });
    expect([cbor.code, cbor.contentFormat, cborDecode(cbor.payload)]).toEqual(['2.05', 60, {}]);
    // Commands are never text: refused as for an onboarded device.
    expect((await h.send('GET', '/ps/actuator/set', undefined, { accept: 0 })).code).toBe('4.06');

    // A registration is answered without Observe: the device is not on any observer list yet (RFC 7641 §4.1).
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'actuator', 'set'], timeoutMs: 3000 },
      () => {},
    );
    expect([observation.first.code, observation.first.observe]).toEqual(['2.05', undefined]);
    expect(h.adapter.status().details?.command_observers).toBe(0);
  });
});
