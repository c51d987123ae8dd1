// A device that only observes /ps/<id>/set (an actuator that never publishes) goes offline after its
// availability_timeout like any quiet device; the ACK of a command's notification is a sign of life that brings it
// back online. Before, it stayed offline while it carried out every command.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

type Availability = { state: string };

describe('availability of a device that only observes /ps/<id>/set', () => {
  it('is online again once it acknowledges a command', async () => {
    const h = await coapHarness([{ id: 'act', transport: 'coap', availability_timeout: 1 }]);
    const topic = 'zephyr2mqtt/act/availability';
    const online = await h.gw.expectMessage<Availability>(h.mqtt, topic, (m) => m.state === 'online');
    const notes: unknown[] = [];
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'act', 'set'], timeoutMs: 3000 },
      (res) => notes.push(JSON.parse(res.payload.toString())),
    );
    await online.message;
    // Nothing from the device for availability_timeout.
    await h.gw.waitForMessage<Availability>(h.mqtt, topic, (m) => m.state === 'offline', 5000);

    const back = await h.gw.expectMessage<Availability>(h.mqtt, topic, (m) => m.state === 'online');
    await h.mqtt.publishAsync('zephyr2mqtt/act/set', JSON.stringify({ relay: true }));
    await back.message;
    expect(notes).toEqual([{ relay: true }]);
    await observation.cancel();
  });
});
