import { generate, type NamedOption } from 'coap-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { formatPath } from '../../../adapters/coap/lwm2m/path.js';
import { uintOption, withTimeout } from '../../sim/lwm2m/coap-wire.js';
import type { SimFormat, SimLwm2mClient } from '../../sim/lwm2m/zephyr-client.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const DEVICE = { id: 'node1', endpoint: 'zephyr-node1' };

async function registered(format: SimFormat = 'senml-json', version: '1.0' | '1.1' = '1.1'): Promise<SimLwm2mClient> {
  h = await startHarness({}, [DEVICE]);
  const c = await h.client({ endpoint: DEVICE.endpoint, format, version });
  await c.register();
  await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 25.5);
  // NSTART = 1: the server observes one path after the other, the light's state comes second.
  await h.ctx.waitFor('telemetry', (f) => f.values.on_off === false);
  return c;
}

function once<T extends unknown[]>(c: SimLwm2mClient, event: string): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve) => c.once(event, (...args: unknown[]) => resolve(args as T))),
    3000,
    event,
  );
}

let rawMessageId = 40_000;

/** A notification the simulator would not send by itself: any code and SenML JSON payload, on `path`'s token. */
function notifyRaw(c: SimLwm2mClient, path: string, code: string, payload = ''): void {
  const observer = [...c.observers.values()].find((o) => formatPath(o.path) === path);
  if (!observer) throw new Error(`${path} is not observed`);
  const options: NamedOption[] = code.startsWith('2.')
    ? [
        { name: 'Observe', value: uintOption(observer.seq++) },
        { name: 'Content-Format', value: uintOption(110) },
      ]
    : [];
  const messageId = rawMessageId++;
  c.sendRaw(
    generate({ code, confirmable: false, messageId, token: observer.token, options, payload: Buffer.from(payload) }),
  );
}

async function observed(): Promise<string[]> {
  const reg = (await h.server.request('node1', { op: 'registration' })) as { observed: string[] };
  return [...reg.observed].sort();
}

describe('LwM2M device management through the server', () => {
  for (const format of ['tlv', 'senml-json', 'senml-cbor'] as const) {
    it(`observes temperature and light state in ${format} and maps them to properties and raw paths`, async () => {
      const c = await registered(format, format === 'tlv' ? '1.0' : '1.1');
      expect([...c.observers.values()].map((o) => `/${o.path.obj}/${o.path.inst}/${o.path.res}`).sort()).toEqual([
        '/3303/0/5700',
        '/3311/0/5850',
      ]);
      const mark = h.ctx.facts.length;
      c.setValue('/3303/0/5700', 22.75);
      const t = await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 22.75, 3000, mark);
      expect(t.deviceId).toBe('node1');
      await h.ctx.waitFor('publish', (f) => f.subtopic === 'lwm2m/3303/0/5700' && f.payload === '22.75', 3000, mark);
      c.setValue('/3311/0/5850', true);
      await h.ctx.waitFor('telemetry', (f) => f.values.on_off === true, 3000, mark);
    });
  }

  it('writes the light on/off by property name, accepting "ON"/"OFF"', async () => {
    const c = await registered();
    const write = once<[string]>(c, 'write');
    const result = await h.server.command('node1', { kind: 'set', payload: { on_off: 'ON' } });
    expect(result).toEqual({ data: { on_off: true }, merge: true });
    expect((await write)[0]).toBe('/3311/0/5850');
    expect(c.value('/3311/0/5850')).toBe(true);
    await h.server.command('node1', { kind: 'set', payload: { '/3311/0/5850': false, '3311/0/5852': 30 } });
    expect(c.value('/3311/0/5850')).toBe(false);
    expect(c.value('/3311/0/5852')).toBe(30);
  });

  it('writes in TLV to a TLV-only client', async () => {
    const c = await registered('tlv', '1.0');
    await h.server.command('node1', { kind: 'set', payload: { on_off: true, on_time: 7 } });
    expect(c.value('/3311/0/5850')).toBe(true);
    expect(c.value('/3311/0/5852')).toBe(7);
  });

  it('executes reboot by property name and by path', async () => {
    const c = await registered();
    const exec = once<[string, string]>(c, 'execute');
    await h.server.command('node1', { kind: 'set', payload: { reboot: '' } });
    expect(await exec).toEqual(['/3/0/4', '']);
    const exec2 = once<[string, string]>(c, 'execute');
    await h.server.command('node1', { kind: 'set', payload: { '/3/0/5': 'now' } });
    expect(await exec2).toEqual(['/3/0/5', 'now']);
    // Two observations, the /3/0 read and the two executes went out; registration and notifications came in.
    expect(h.ctx.messages.out).toBeGreaterThanOrEqual(5);
    expect(h.ctx.messages.in).toBeGreaterThanOrEqual(2);
  });

  it('reads by /get with property names', async () => {
    await registered();
    const result = await h.server.command('node1', { kind: 'get', payload: { battery: '', manufacturer: '' } });
    expect(result.data).toEqual({ battery: 95, manufacturer: 'Zephyr' });
  });

  it('rejects bad /set input with a clear message and sends nothing', async () => {
    const c = await registered();
    let writes = 0;
    c.on('write', () => writes++);
    await expect(h.server.command('node1', { kind: 'set', payload: { on_off: 'maybe' } })).rejects.toThrow(/boolean/);
    await expect(h.server.command('node1', { kind: 'set', payload: { warp_drive: 1 } })).rejects.toThrow(
      /unknown property "warp_drive"/,
    );
    await expect(h.server.command('node1', { kind: 'set', payload: { '/3/0': 1 } })).rejects.toThrow(/not a resource/);
    await expect(h.server.command('ghost', { kind: 'set', payload: { on_off: true } })).rejects.toThrow(/not an LwM2M/);
    expect(writes).toBe(0);
  });

  it('reports the client error code of a failed operation', async () => {
    await registered();
    await expect(h.server.request('node1', { op: 'read', path: '/3/0/99' })).rejects.toThrow(
      'read /3/0/99: 4.04 Not Found',
    );
  });

  it('runs raw operations from bridge/request/device/lwm2m', async () => {
    const c = await registered();
    const read = await h.server.request('node1', { op: 'read', path: '/3/0' });
    expect(read).toMatchObject({
      path: '/3/0',
      values: { '/3/0/0': 'Zephyr', '/3/0/7/0': 3800, '/3/0/7/1': 5000, '/3/0/9': 95 },
    });
    const discover = (await h.server.request('node1', { op: 'discover', path: '/3303/0' })) as { links: unknown[] };
    expect(discover.links).toContainEqual({ path: '/3303/0/5700' });
    await h.server.request('node1', {
      op: 'write_attributes',
      path: '/3303/0/5700',
      attributes: { pmin: 10, pmax: 60, gt: 30 },
    });
    expect(c.attributes.get('/3303/0/5700')).toEqual({ pmin: '10', pmax: '60', gt: '30' });
    await h.server.request('node1', { op: 'write', path: '/3311/0', values: { '5850': true, '5750': 'Porch' } });
    expect([c.value('/3311/0/5850'), c.value('/3311/0/5750')]).toEqual([true, 'Porch']);
    const cancelled = once<[string]>(c, 'cancel');
    expect(await h.server.request('node1', { op: 'cancel_observe', path: '/3303/0/5700' })).toEqual({
      path: '/3303/0/5700',
      observing: false,
    });
    expect((await cancelled)[0]).toBe('/3303/0/5700');
    expect(
      await h.server.request('node1', { op: 'observe', path: '/3304/0/5700' }).catch((e: Error) => e.message),
    ).toMatch(/4\.04/);
    await expect(h.server.request('node1', { op: 'fly' })).rejects.toThrow(/invalid lwm2m request/);
    await expect(h.server.request('node1', { op: 'read', path: 'x/y' })).rejects.toThrow(/invalid lwm2m request/);
  });

  for (const format of ['tlv', 'senml-cbor'] as const) {
    it(`creates and deletes an object instance (${format})`, async () => {
      const c = await registered(format, format === 'tlv' ? '1.0' : '1.1');
      const created = await h.server.request('node1', {
        op: 'create',
        path: '/3303',
        instance: 1,
        values: { '5700': 12.5, '5701': 'Cel' },
      });
      expect(created).toEqual({ path: '/3303/1', created: { '/3303/1/5700': 12.5, '/3303/1/5701': 'Cel' } });
      expect([c.value('/3303/1/5700'), c.value('/3303/1/5701')]).toEqual([12.5, 'Cel']);
      await h.ctx.waitFor('telemetry', (f) => f.values.temperature_1 === 12.5);
      await expect(
        h.server.request('node1', { op: 'create', path: '/3303', instance: 1, values: { '5700': 1 } }),
      ).rejects.toThrow('create /3303: 4.00 Bad Request');
      expect(await h.server.request('node1', { op: 'delete', path: '/3303/1' })).toEqual({
        path: '/3303/1',
        deleted: true,
      });
      expect(c.value('/3303/1/5700')).toBeUndefined();
      await expect(h.server.request('node1', { op: 'delete', path: '/3303/1' })).rejects.toThrow(/4\.04/);
    });
  }

  it('reads one resource instance in TLV from Zephyr, which answers with the bare instance entry', async () => {
    await registered('tlv', '1.0');
    expect(await h.server.request('node1', { op: 'read', path: '/3/0/7/1' })).toEqual({
      path: '/3/0/7/1',
      values: { '/3/0/7/1': 5000 },
    });
  });

  it('ignores, and counts, records of a Read answer outside the requested path', async () => {
    const c = await registered();
    // A client answering a Read of /3/0/9 with more than was asked for.
    c.answerOverride = (path) =>
      path === '/3/0/9' ? '[{"bn":"/3/0/","n":"9","v":80},{"bn":"/3303/0/","n":"5700","v":99}]' : undefined;
    const mark = h.ctx.facts.length;
    expect(await h.server.command('node1', { kind: 'get', payload: { battery: '' } })).toEqual({
      data: { battery: 80 },
      merge: true,
    });
    const after = h.ctx.facts.slice(mark);
    expect(after).toContainEqual({ type: 'telemetry', deviceId: 'node1', values: { battery: 80 } });
    const leaked = after.filter(
      (f) =>
        (f.type === 'telemetry' && 'temperature' in f.values) ||
        (f.type === 'publish' && f.subtopic.startsWith('lwm2m/3303')),
    );
    expect(leaked).toEqual([]);
    expect(after).toContainEqual({
      type: 'decodeError',
      reason: 'lwm2m_out_of_path',
      error: '1 record(s) outside /3/0/9, e.g. /3303/0/5700',
    });
  });

  it('observes an instance again when an Update lists it again after one that dropped it', async () => {
    const c = await registered();
    const links = () => c.request('POST', c.location, [], c.registerPayload(), 40);
    const removed = [...c.resources].filter(([key]) => key.startsWith('/3303/0/'));
    for (const [key] of removed) c.resources.delete(key);
    const observations = h.endpoint.stats().observations ?? 0;
    expect((await links()).code).toBe('2.04');
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ observed: ['/3311/0/5850'] });
    expect(h.endpoint.stats().observations).toBe(observations - 1);
    for (const [key, record] of removed) c.resources.set(key, record);
    const observed = once<[string]>(c, 'observe');
    expect((await links()).code).toBe('2.04');
    expect((await observed)[0]).toBe('/3303/0/5700');
    const mark = h.ctx.facts.length;
    c.setValue('/3303/0/5700', 31.5);
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 31.5, 3000, mark);
  });

  it('takes LwM2M 1.1 Send (POST /dp) as telemetry', async () => {
    const c = await registered();
    c.resources.set('/3303/0/5700', { path: { obj: 3303, inst: 0, res: 5700 }, value: 30.5 });
    const mark = h.ctx.facts.length;
    expect(await c.send(['/3303/0/5700', '/3/0/9'])).toBe('2.04');
    const t = await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 30.5, 3000, mark);
    expect(t.values).toEqual({ temperature: 30.5, battery: 95 });
    expect((await c.request('POST', ['dp'], [], '[{"n":', 110)).code).toBe('4.00');
    expect((await c.request('POST', ['dp'], [], 'x', 0)).code).toBe('4.15');
    await h.ctx.waitFor('decodeError', (f) => f.reason === 'lwm2m_send' && String(f.error).includes('Send'));
  });

  it('refuses, and counts, a Send or notification value in the wrong field for the resource type', async () => {
    const c = await registered();
    const mark = h.ctx.facts.length;
    const hot = '[{"bn":"/3303/0/","n":"5700","vs":"hot"}]';
    const res = await c.request('POST', ['dp'], [], hot, 110);
    expect([res.code, res.payload.toString()]).toEqual([
      '4.00',
      'SenML record /3303/0/5700 (float) takes "v", not "vs"',
    ]);
    await h.ctx.waitFor('decodeError', (f) => f.reason === 'lwm2m_send', 3000, mark);
    notifyRaw(c, '/3303/0/5700', '2.05', hot);
    await h.ctx.waitFor(
      'decodeError',
      (f) => f.reason === 'lwm2m_payload' && String(f.error).includes('(float) takes "v", not "vs"'),
      3000,
      mark,
    );
    c.setValue('/3303/0/5700', 26.5);
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 26.5, 3000, mark);
    // Only the good notification reached the state and the raw view.
    const stored = h.ctx.facts.slice(mark).flatMap((f) => {
      if (f.type === 'telemetry' && 'temperature' in f.values) return [f.values.temperature];
      return f.type === 'publish' && f.subtopic === 'lwm2m/3303/0/5700' ? [f.payload] : [];
    });
    expect(stored).toEqual([26.5, '26.5']);
  });

  it('keeps the newest value of a path a Send carries more than once', async () => {
    const c = await registered();
    const mark = h.ctx.facts.length;
    // 22 was measured 60 s before 21 (no time: now).
    const pack = '[{"bn":"/3303/0/","n":"5700","v":21},{"n":"5700","v":22,"t":-60}]';
    expect((await c.request('POST', ['dp'], [], pack, 110)).code).toBe('2.04');
    const telemetry = await h.ctx.waitFor('telemetry', (f) => 'temperature' in f.values, 3000, mark);
    expect(telemetry.values).toEqual({ temperature: 21 });
    const raw = h.ctx.facts.slice(mark).filter((f) => f.type === 'publish' && f.subtopic === 'lwm2m/3303/0/5700');
    expect(raw.map((f) => f.type === 'publish' && f.payload)).toEqual(['21']);
  });

  it('unlists an observation the client ends with an error notification and observes it again at the next Update', async () => {
    const c = await registered();
    await expect.poll(observed).toEqual(['/3303/0/5700', '/3311/0/5850']);
    // RFC 7641 §3.2: a notification with an error code ends the relation (the instance was deleted, say).
    notifyRaw(c, '/3303/0/5700', '4.04');
    await expect.poll(observed).toEqual(['/3311/0/5850']);
    const again = once<[string]>(c, 'observe');
    expect(await c.update()).toBe('2.04');
    expect((await again)[0]).toBe('/3303/0/5700');
    await expect.poll(observed).toEqual(['/3303/0/5700', '/3311/0/5850']);
    const mark = h.ctx.facts.length;
    c.setValue('/3303/0/5700', 31.5);
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 31.5, 3000, mark);
  });

  it('clears the retained raw topics of a deleted instance, and of one an Update no longer lists', async () => {
    const c = await registered();
    await expect.poll(() => h.server.status().observations).toBe(2);
    await h.server.request('node1', {
      op: 'create',
      path: '/3303',
      instance: 1,
      values: { '5700': 12.5, '5701': 'Cel' },
    });
    let mark = h.ctx.facts.length;
    const published = () =>
      h.ctx.facts.slice(mark).flatMap((f) => (f.type === 'publish' ? [[f.subtopic, f.payload]] : []));
    await h.server.request('node1', { op: 'delete', path: '/3303/1' });
    expect(published()).toEqual([
      ['lwm2m/3303/1/5700', ''],
      ['lwm2m/3303/1/5701', ''],
    ]);
    // The client deleted /3303/0 itself and says so in an Update.
    for (const key of [...c.resources.keys()]) if (key.startsWith('/3303/0/')) c.resources.delete(key);
    mark = h.ctx.facts.length;
    expect((await c.request('POST', c.location, [], c.registerPayload(), 40)).code).toBe('2.04');
    expect(published()).toEqual([['lwm2m/3303/0/5700', '']]);
  });

  it('refuses Send from an address that is not registered', async () => {
    h = await startHarness({}, [DEVICE]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    expect((await c.request('POST', ['dp'], [], '[]', 110)).code).toBe('4.04');
  });
});

describe('queue mode', () => {
  it('holds commands for a sleeping client until its next Update', async () => {
    h = await startHarness({ queue_awake_s: 1 }, [DEVICE]);
    const c = await h.client({ endpoint: DEVICE.endpoint, queueMode: true });
    await c.register();
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 25.5);
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ queue_mode: true, awake: true });
    // The client goes to sleep after its awake window.
    c.sleeping = true;
    h.clock.advance(1100);
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ awake: false });
    let done = false;
    const pending = h.server.command('node1', { kind: 'set', payload: { on_off: true } }).then((r) => {
      done = true;
      return r;
    });
    await expect.poll(() => h.server.status().queued_commands).toBe(1);
    expect(done).toBe(false);
    expect(h.server.status()).toMatchObject({ queued_commands: 1 });
    expect(c.value('/3311/0/5850')).toBe(false);
    expect(await c.update()).toBe('2.04');
    expect(await withTimeout(pending, 3000, 'the queued write')).toEqual({ data: { on_off: true }, merge: true });
    expect(c.value('/3311/0/5850')).toBe(true);
  });

  for (const wake of ['Send', 'notification'] as const) {
    it(`a ${wake} from a sleeping client releases the commands queued for it`, async () => {
      h = await startHarness({ queue_awake_s: 0.3 }, [DEVICE]);
      const c = await h.client({ endpoint: DEVICE.endpoint, queueMode: true });
      await c.register();
      await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 25.5);
      c.sleeping = true;
      h.clock.advance(400);
      const pending = h.server.command('node1', { kind: 'set', payload: { on_off: true } });
      await expect.poll(() => h.server.status().queued_commands).toBe(1);
      // Zephyr listens for CONFIG_LWM2M_QUEUE_MODE_UPTIME after any message it sends.
      c.sleeping = false;
      if (wake === 'Send') expect(await c.send(['/3303/0/5700'])).toBe('2.04');
      else c.setValue('/3303/0/5700', 24);
      expect(await withTimeout(pending, 3000, 'the queued write')).toEqual({ data: { on_off: true }, merge: true });
      expect(c.value('/3311/0/5850')).toBe(true);
    });
  }

  it('fails queued commands when the registration expires', async () => {
    h = await startHarness({ queue_awake_s: 0, lifetime_grace_s: 0 }, [DEVICE]);
    const c = await h.client({ endpoint: DEVICE.endpoint, queueMode: true, lifetime: 1, version: '1.0' });
    await c.register();
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ binding: 'UQ', queue_mode: true });
    h.clock.advance(20); // past its wake window of 0 s
    const pending = h.server.command('node1', { kind: 'set', payload: { on_off: true } });
    await expect(withTimeout(pending, 3000, 'the failure')).rejects.toThrow(/lifetime expired/);
  });
});
