// A device observing /ps/<id>/set keeps receiving its commands after device/rename: the firmware still observes the
// old id (kept as ps_id), the commands come on the new id's /set. Before, the relation was dropped with the old id
// and each command was reported done while it waited for a GET that an observing device never sends.
import { describe, expect, it } from 'vitest';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

describe('/ps/<id>/set observers across device/rename', () => {
  it('notifies the observer of the old id of commands sent to the new id, in order', async () => {
    const h = await coapHarness([{ id: 'porch', transport: 'coap' }]);
    const notes: unknown[] = [];
    let onNote: () => void = () => {};
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'porch', 'set'], timeoutMs: 3000 },
      (res) => {
        notes.push(JSON.parse(res.payload.toString()));
        onNote();
      },
    );
    expect(observation.first.observe).toBeTypeOf('number');
    const nextNote = () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no notification within 5 s')), 5000);
        onNote = () => {
          clearTimeout(timer);
          resolve();
        };
      });

    let note = nextNote();
    await h.mqtt.publishAsync('zephyr2mqtt/porch/set', JSON.stringify({ light: 'on' }));
    await note;

    expect(await h.gw.request(h.mqtt, 'device/rename', { from: 'porch', to: 'front-porch' })).toMatchObject({
      status: 'ok',
    });
    expect(h.adapter.status().details?.command_observers).toBe(1);
    note = nextNote();
    await h.mqtt.publishAsync('zephyr2mqtt/front-porch/set', JSON.stringify({ light: 'off' }));
    await note;
    expect(notes).toEqual([{ light: 'on' }, { light: 'off' }]);
    await observation.cancel();
  });
});
