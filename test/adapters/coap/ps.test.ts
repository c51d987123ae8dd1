// Device-initiated CoAP through the real gateway: /ps PUT/POST in every content format, response codes,
// identity, and commands delivered to /ps/<id>/set observers, all checked on MQTT topics.
import { encode as cborEncode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { encodeSenmlCbor } from '../../../adapters/common/senml.js';
import { coapHarness, stopHarnessesAfterEach } from './harness.js';

stopHarnessesAfterEach();

type State = Record<string, unknown>;

describe('CoAP /ps resource through the gateway', () => {
  it('PUT and POST in JSON, CBOR, SenML-JSON, SenML-CBOR, text and octet-stream update the MQTT state', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const state = (pred: (m: State) => boolean) => h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', pred);

    let seen = state((m) => m.temperature === 21.5);
    expect((await h.send('PUT', '/ps/dev1', '{"temperature":21.5}', { contentFormat: 50 })).code).toBe('2.04');
    await seen;

    seen = state((m) => m.humidity === 40);
    expect((await h.send('POST', '/ps/dev1', cborEncode({ humidity: 40 }), { contentFormat: 60 })).code).toBe('2.01');
    await seen;

    seen = state((m) => m.pressure === 1013);
    const senmlJson = '[{"bn":"urn:dev:mac:01:","n":"pressure","u":"hPa","v":1013}]';
    expect((await h.send('PUT', '/ps/dev1', senmlJson, { contentFormat: 110 })).code).toBe('2.04');
    await seen;

    seen = state((m) => m.co2 === 600);
    const senmlCbor = encodeSenmlCbor([
      { name: 'dev1/co2', value: 600 },
      { name: 'dev1/ok', value: true },
    ]);
    expect((await h.send('PUT', '/ps/dev1', senmlCbor, { contentFormat: 112 })).code).toBe('2.04');
    expect((await seen).ok).toBe(true);

    seen = state((m) => m.battery === 87);
    expect((await h.send('PUT', '/ps/dev1/battery', '87', { contentFormat: 0 })).code).toBe('2.04');
    await seen;

    seen = state((m) => m.raw === '00ff');
    expect((await h.send('PUT', '/ps/dev1/raw', Buffer.from([0, 255]), { contentFormat: 42 })).code).toBe('2.04');
    await seen;

    seen = state((m) => m.mode === 'eco' && m.level === 3);
    expect((await h.send('PUT', '/ps/dev1', 'mode=eco&level=3')).code).toBe('2.04');
    await seen;
  });

  it('answers every failure with the right code and counts decode errors in /metrics', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }], { max_payload: 256 });
    expect((await h.send('PUT', '/ps/dev1', '{"a":', { contentFormat: 50 })).code).toBe('4.00');
    expect((await h.send('PUT', '/ps/dev1', '[1,2]', { contentFormat: 50 })).code).toBe('4.00');
    expect((await h.send('PUT', '/ps/dev1', 'x', { contentFormat: 11542 })).code).toBe('4.15');
    expect((await h.send('PUT', '/ps/nobody', '{"a":1}')).code).toBe('4.04');
    expect((await h.send('DELETE', '/ps/dev1')).code).toBe('4.05');
    expect((await h.send('GET', '/ps/dev1')).code).toBe('4.05');
    expect((await h.send('PUT', '/ps/dev1/set', '{}')).code).toBe('4.05');
    expect((await h.send('PUT', '/ps/dev1/a/b', '1')).code).toBe('4.04');
    expect((await h.send('PUT', '/elsewhere', '1')).code).toBe('4.04');
    // Plain text without key=value pairs on the device resource.
    expect((await h.send('PUT', '/ps/dev1', 'hello')).code).toBe('4.00');
    // Block1 upload whose Size1 (and reassembled size) exceed max_payload.
    const tooLarge = await h.send('PUT', '/ps/dev1', `{"a":"${'x'.repeat(300)}"}`);
    expect(tooLarge.code).toBe('4.13');
    const metrics = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
    const errors = metrics
      .split('\n')
      .filter((l) => l.startsWith('zephyr2mqtt_decode_errors_total{') && l.includes('adapter="coap"'))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
    expect(errors).toBeGreaterThanOrEqual(4);
  });

  it('SenML: a "/" in a name becomes "_", a later bver or text-labelled CBOR gets 4.00 with the reason', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const seen = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.room1_temp === 21);
    const rooms = '[{"bn":"urn:dev:mac:01:","n":"room1/temp","v":21},{"n":"room2/temp","v":19}]';
    expect((await h.send('PUT', '/ps/dev1', rooms, { contentFormat: 110 })).code).toBe('2.04');
    expect(await seen).toMatchObject({ room1_temp: 21, room2_temp: 19 });
    const refused = async (payload: string | Buffer, contentFormat: number) => {
      const res = await h.send('PUT', '/ps/dev1', payload, { contentFormat });
      return [res.code, res.payload.toString()];
    };
    expect(await refused('[{"bn":"d:","n":"-x","v":1},{"n":"y","v":2}]', 110)).toEqual([
      '4.00',
      'invalid property name "-x"',
    ]);
    expect(await refused('[{"bver":11,"n":"t","v":1}]', 110)).toEqual([
      '4.00',
      'record 0 has SenML version 11, newer than 10',
    ]);
    // [{"n": "t", "v": 1}] in CBOR
    expect(await refused(Buffer.from('81a2616e6174617601', 'hex'), 112)).toEqual([
      '4.00',
      'record 0 has the text label "n": SenML-CBOR uses integer labels (0 for "n")',
    ]);
  });

  it('answers NON requests too (a known failing of older bridges is never answering POST)', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const seen = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.t === 1);
    const res = await h.send('POST', '/ps/dev1', '{"t":1}', { confirmable: false });
    expect(res.code).toBe('2.01');
    await seen;
  });

  it('enforces token and address identity so one device cannot publish as another', async () => {
    const h = await coapHarness([
      { id: 'tok', transport: 'coap', token: 's3cret-token' },
      { id: 'local', transport: 'coap', address: '::1' },
      { id: 'remote', transport: 'coap', address: '2001:db8::7' },
      { id: 'open', transport: 'coap' },
    ]);
    expect((await h.send('PUT', '/ps/tok', '{"a":1}')).code).toBe('4.01');
    expect((await h.send('PUT', '/ps/tok?token=wrong-token!', '{"a":1}')).code).toBe('4.01');
    expect((await h.send('PUT', '/ps/tok?token=s3cret-token', '{"a":1}')).code).toBe('2.04');
    expect((await h.send('PUT', '/ps/remote', '{"a":1}')).code).toBe('4.03');
    // ::1 is bound to "local": it may not publish as the path-identified "open" device either.
    expect((await h.send('PUT', '/ps/open', '{"a":1}')).code).toBe('4.03');
    const seen = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/local', (m) => m.b === 2);
    // Address identity needs no id in the path.
    expect((await h.send('PUT', '/ps', '{"b":2}')).code).toBe('2.04');
    await seen;
  });

  it('delivers MQTT /set commands to a device observing /ps/<id>/set, and to a later plain GET', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const notes: Record<string, unknown>[] = [];
    let notified: () => void = () => {};
    const gotNote = new Promise<void>((r) => {
      notified = r;
    });
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'dev1', 'set'], timeoutMs: 3000 },
      (res) => {
        notes.push(JSON.parse(res.payload.toString()) as Record<string, unknown>);
        notified();
      },
    );
    expect(observation.first.code).toBe('2.05');
    expect(observation.first.observe).toBeTypeOf('number');
    await h.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: true }));
    await Promise.race([gotNote, new Promise((_, rej) => setTimeout(() => rej(new Error('no notification')), 5000))]);
    expect(notes).toEqual([{ led: true }]);
    expect(h.adapter.status().details?.command_observers).toBe(1);
    await observation.cancel();
    const get = await h.send('GET', '/ps/dev1/set');
    expect(JSON.parse(get.payload.toString())).toEqual({ led: true });
    expect(get.contentFormat).toBe(50);
  });

  it('announces an unknown device on bridge/event while permit_join is on', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const ok = await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 });
    expect(ok.status).toBe('ok');
    const event = h.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      h.mqtt,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown',
    );
    // Checked as a known device's request would be: a bad payload is refused, not announced.
    const bad = await h.send('PUT', '/ps/newbie', '{"a":', { contentFormat: 50 });
    expect(bad.code).toBe('4.00');
    expect((await h.send('PUT', '/ps/newbie', '{"a":1}')).code).toBe('2.04');
    const { data } = await event;
    expect(data).toMatchObject({
      transport: 'coap',
      name: 'newbie',
      suggested_config: { id: 'newbie', address: '::1' },
    });
    expect(data.suggested_config).not.toHaveProperty('ps_id');

    // An id the config cannot take: the suggested entry has a valid id and keeps the device's own as ps_id, and
    // device/add takes it as it is. A second id from the same address is announced too.
    const other = h.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
      h.mqtt,
      'zephyr2mqtt/bridge/event',
      (m) => m.type === 'device_seen_unknown' && m.data.name === 'Kitchen Node',
    );
    expect((await h.send('PUT', '/ps/Kitchen Node', '{"t":20}', { contentFormat: 50 })).code).toBe('2.04');
    const suggested = (await other).data.suggested_config;
    expect(suggested).toEqual({ id: 'kitchen-node', transport: 'coap', address: '::1', ps_id: 'Kitchen Node' });
    expect((await h.gw.request(h.mqtt, 'device/add', suggested)).status).toBe('ok');
    const state = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/kitchen-node', (m) => m.t === 21);
    expect((await h.send('PUT', '/ps/Kitchen Node', '{"t":21}', { contentFormat: 50 })).code).toBe('2.04');
    await state;
  });

  it('suggests an id no configured device has, keeping the id the device sends as ps_id, and onboards it', async () => {
    // "Kitchen" becomes "kitchen" (taken), "Lamp" becomes "lamp", a disabled entry's id: neither is what device/add
    // would take. The disabled device itself (/ps/lamp) is known, not announced; the other ids its address posts are
    // other devices.
    const h = await coapHarness([
      { id: 'kitchen', transport: 'coap' },
      { id: 'lamp', transport: 'coap', address: '::1', disabled: true },
    ]);
    const announced: string[] = [];
    await h.mqtt.subscribeAsync('zephyr2mqtt/bridge/event');
    h.mqtt.on('message', (topic, buf) => {
      const event = topic === 'zephyr2mqtt/bridge/event' ? JSON.parse(buf.toString()) : undefined;
      if (event?.type === 'device_seen_unknown') announced.push(event.data.name);
    });
    expect((await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    expect((await h.send('PUT', '/ps/lamp', '{"t":1}', { contentFormat: 50 })).code).toBe('2.04');
    const suggestions: Record<string, unknown>[] = [];
    for (const sent of ['Lamp', 'Kitchen']) {
      const seen = h.gw.waitForMessage<{ type: string; data: Record<string, unknown> }>(
        h.mqtt,
        'zephyr2mqtt/bridge/event',
        (m) => m.type === 'device_seen_unknown' && m.data.name === sent,
      );
      expect((await h.send('PUT', `/ps/${sent}`, '{"t":1}', { contentFormat: 50 })).code).toBe('2.04');
      suggestions.push((await seen).data.suggested_config as Record<string, unknown>);
    }
    expect(suggestions).toEqual([
      { id: 'lamp-2', transport: 'coap', address: '::1', ps_id: 'Lamp' },
      { id: 'kitchen-2', transport: 'coap', address: '::1', ps_id: 'Kitchen' },
    ]);
    expect(announced).toEqual(['Lamp', 'Kitchen']);
    expect(await h.gw.request(h.mqtt, 'device/add', suggestions[1])).toMatchObject({
      status: 'ok',
      data: { added: ['kitchen-2'] },
    });
    const state = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/kitchen-2', (m) => m.t === 2);
    expect((await h.send('PUT', '/ps/Kitchen', '{"t":2}', { contentFormat: 50 })).code).toBe('2.04');
    await state;
  });

  it('a device removed with block: true is refused with 4.03 and not announced, while other unknown ids are', async () => {
    const h = await coapHarness([
      { id: 'kitchen', transport: 'coap' },
      { id: 'hall', transport: 'coap' },
    ]);
    expect((await h.send('PUT', '/ps/kitchen', '{"t":1}', { contentFormat: 50 })).code).toBe('2.04');
    expect(await h.gw.request(h.mqtt, 'device/remove', { id: 'kitchen', block: true })).toMatchObject({
      status: 'ok',
      data: { removed: ['kitchen'], block: true, blocklist: [{ transport: 'coap', name: 'kitchen' }] },
    });
    expect((await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const names: string[] = [];
    h.mqtt.on('message', (t, p) => {
      const event = JSON.parse(p.toString()) as { type: string; data: Record<string, unknown> };
      if (t === 'zephyr2mqtt/bridge/event' && event.type === 'device_seen_unknown') names.push(String(event.data.name));
    });
    await h.mqtt.subscribeAsync('zephyr2mqtt/bridge/event', { qos: 1 });
    const refused = await h.send('PUT', '/ps/kitchen', '{"t":2}', { contentFormat: 50 });
    expect(refused.code).toBe('4.03');
    expect(refused.payload.toString()).toContain('blocklist');
    expect((await h.send('PUT', '/ps/stranger', '{"t":2}', { contentFormat: 50 })).code).toBe('2.04');
    await expect.poll(() => names).toEqual(['stranger']);
    const metrics = await (await fetch(`${h.gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('zephyr2mqtt_blocked_total{adapter="coap"} 1');
  });

  it('does not announce an unknown id sent from the address of a configured device', async () => {
    const h = await coapHarness([{ id: 'owner', transport: 'coap', address: '::1' }]);
    expect((await h.gw.request(h.mqtt, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const refused = await h.send('PUT', '/ps/stranger', '{"a":1}', { contentFormat: 50 });
    expect(refused.code).toBe('4.04');
    expect(refused.payload.toString()).toContain('unknown device "stranger"');
  });

  it('accepts Block1 uploads from a device and serves /.well-known/core', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const long = 'y'.repeat(500);
    const seen = h.gw.waitForMessage<State>(h.mqtt, 'zephyr2mqtt/dev1', (m) => m.note === long);
    expect((await h.send('PUT', '/ps/dev1', JSON.stringify({ note: long }), { contentFormat: 50 })).code).toBe('2.04');
    await seen;
    const core = await h.send('GET', '/.well-known/core');
    expect(core.contentFormat).toBe(40);
    expect(core.payload.toString()).toContain('</ps>');
  });
});
