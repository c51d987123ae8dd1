import type { ParsedPacket } from 'coap-packet';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withTimeout } from '../../sim/lwm2m/coap-wire.js';
import { type Harness, startHarness } from './harness.js';
import { startOfflineServer } from './offline-server.js';

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('LwM2M registration interface', () => {
  it('answers the protocols.md Register bytes with 2.01 and Location-Path rd,<id>', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    const reply = new Promise<ParsedPacket>((resolve) => c.once('response', resolve));
    // Exactly the §6.3 datagram; the answer is matched on its token 01..08.
    const bytes = hex(`48 02 12 34 01 02 03 04 05 06 07 08 B2 72 64 11 28 39 6C 77 6D 32 6D 3D 31 2E 31 0D 02 65 70 3D
      7A 65 70 68 79 72 2D 6E 6F 64 65 31 06 6C 74 3D 33 30 30 FF 3C 2F 3E 3B 63 74 3D 31 31 30 2C 3C
      2F 31 2F 30 3E 2C 3C 2F 33 2F 30 3E 2C 3C 2F 33 33 30 33 2F 30 3E`);
    const answer = h.ctx.waitFor('availability', (f) => f.deviceId === 'node1' && f.online);
    c.sendRaw(bytes);
    const packet = await withTimeout(reply, 3000, 'the 2.01');
    expect(packet).toMatchObject({ code: '2.01', ack: true, messageId: 0x1234, token: hex('0102030405060708') });
    const location = packet.options.filter((o) => o.name === 'Location-Path').map((o) => o.value.toString());
    expect(location).toEqual(['rd', expect.stringMatching(/^[0-9a-f]{24}$/)]);
    await answer;
    const info = await h.ctx.waitFor('deviceInfo', (f) => f.deviceId === 'node1');
    expect(info.info.lwm2m).toMatchObject({
      endpoint: 'zephyr-node1',
      version: '1.1',
      binding: 'U',
      lifetime: 300,
      content_format: 110,
      objects: ['/1/0', '/3/0', '/3303/0'],
    });
    expect(h.server.status()).toMatchObject({ registrations: 1, onboarded: 1 });
  });

  it('registers, updates and de-registers with the codes Zephyr expects', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    const id = await c.register();
    expect(c.location).toEqual(['rd', id]);
    expect(id).toMatch(/^[0-9a-f]{24}$/);
    const info = await h.ctx.waitFor('deviceInfo', (f) => f.info.manufacturer !== undefined);
    expect(info.info).toMatchObject({
      manufacturer: 'Zephyr',
      model: 'OMA-LWM2M Sample Client',
      serial_number: '345000123',
      firmware_version: '1.0',
      lwm2m: { endpoint: 'zephyr-node1' },
    });
    expect(await c.update()).toBe('2.04');
    expect(await c.update(['lt=600'])).toBe('2.04');
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ lifetime: 600 });
    expect(await c.deregister()).toBe('2.02');
    await h.ctx.waitFor('availability', (f) => f.deviceId === 'node1' && !f.online);
    expect(await c.update()).toBe('4.04');
  });

  it('republishes the device info once after an Update that changes what it shows, never after one that changes nothing', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    await c.register();
    const registered = (await h.ctx.waitFor('deviceInfo', (f) => f.info.manufacturer !== undefined)).info;
    const mark = h.ctx.facts.length;
    const shown = () =>
      h.ctx.facts
        .slice(mark)
        .flatMap((f) => (f.type === 'deviceInfo' ? [f.info.lwm2m as Record<string, unknown>] : []));
    // Each step's republish (if any) runs right after its 2.04, before the client sends the next request.
    expect(await c.update()).toBe('2.04'); // Zephyr's periodic Update: nothing changed
    expect(shown()).toEqual([]);
    expect(await c.update(['lt=600'])).toBe('2.04');
    expect(await c.update(['lt=600'])).toBe('2.04'); // the same lifetime again
    expect(await c.update(['b=UQ'])).toBe('2.04');
    const location = c.location;
    await c.restart(); // NAT rebinding: same address, new port
    c.location = location;
    expect(await c.update()).toBe('2.04');
    expect((await c.request('POST', location, [], '</>;ct=110,</1/0>,</3/0>', 40)).code).toBe('2.04');
    expect(await c.update()).toBe('2.04');
    const before = registered.lwm2m as Record<string, unknown>;
    const address = `[127.0.0.1]:${c.port}`;
    expect(shown()).toEqual([
      { ...before, lifetime: 600 },
      { ...before, lifetime: 600, binding: 'UQ', queue_mode: true },
      { ...before, lifetime: 600, binding: 'UQ', queue_mode: true, address },
      { ...before, lifetime: 600, binding: 'UQ', queue_mode: true, address, objects: ['/1/0', '/3/0'] },
    ]);
    // The same shape as after the Register: the Device object info is still there.
    for (const f of h.ctx.facts.slice(mark))
      if (f.type === 'deviceInfo') expect(f.info).toEqual({ ...registered, lwm2m: f.info.lwm2m });
  });

  it('answers a Register or Send that comes while the server stops with 5.03, not a 2.01 that would be lost', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    await c.register();
    // The server stops (its file is saved, its clients forgotten) while the socket, the CoAP adapter's, still runs.
    await h.server.stop();
    await expect(c.register()).rejects.toThrow(/register answered 5\.03/);
    expect(await c.send(['/3303/0/5700'])).toBe('5.03');
    expect(h.server.status()).toMatchObject({ registrations: 0 });
  });

  it('answers a Send with 5.03 when the gateway took none of it (the adapter instance was let go of)', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    await c.register();
    expect(await c.send(['/3303/0/5700'])).toBe('2.04');
    h.ctx.telemetryVerdict = 'stopped';
    expect(await c.send(['/3303/0/5700'])).toBe('5.03');
  });

  it('gives every registration a different unguessable id', async () => {
    h = await startHarness({ unknown_endpoints: 'accept' });
    const ids = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = await h.client({ endpoint: `ep-${i}` });
      ids.add(await c.register());
    }
    expect(ids.size).toBe(20);
  });

  it('refuses an Update or De-register of a registration from another address', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const owner = await h.client({ endpoint: 'zephyr-node1' });
    await owner.register();
    const intruder = await h.client({ endpoint: 'other', bindAddress: '127.0.0.2' });
    intruder.location = owner.location;
    expect(await intruder.update(['lt=1'])).toBe('4.03');
    expect(await intruder.deregister()).toBe('4.03');
    expect(await h.server.request('node1', { op: 'registration' })).toMatchObject({ lifetime: 300 });
    await h.ctx.waitFor(
      'decodeError',
      (f) => f.reason === 'lwm2m_registration' && String(f.error).includes('another address'),
    );
  });

  it('answers malformed registrations with 4.00/4.15 and a version it does not speak with 4.12, and counts them', async () => {
    h = await startHarness({ unknown_endpoints: 'accept' });
    const c = await h.client({ endpoint: 'x' });
    const cases: Array<[string[], string, number | undefined, string]> = [
      [['lwm2m=1.1', 'lt=300'], '</1/0>', 40, '4.00'],
      [['lwm2m=1.1', 'ep=a', 'lt=abc'], '</1/0>', 40, '4.00'],
      [['lwm2m=1.1', 'ep=a', 'lt=0'], '</1/0>', 40, '4.00'],
      [['lwm2m=9.9', 'ep=a'], '</1/0>', 40, '4.12'],
      [['lwm2m=2.0', 'ep=a'], '</1/0>', 40, '4.12'],
      [['lwm2m=1', 'ep=a'], '</1/0>', 40, '4.00'],
      [['lwm2m=', 'ep=a'], '</1/0>', 40, '4.00'],
      [['ep=a', 'ep=b'], '</1/0>', 40, '4.00'],
      [['ep=a', 'b=XYZ'], '</1/0>', 40, '4.00'],
      [['ep=a', 'b=Q'], '</1/0>', 40, '4.00'],
      [['ep=a', 'b=QU'], '</1/0>', 40, '4.00'],
      [['ep=a', 'b=UU'], '</1/0>', 40, '4.00'],
      [['ep=a', 'b=Q', 'Q=1'], '</1/0>', 40, '4.00'],
      [['ep=a'], '</1/0', 40, '4.00'],
      [['ep=a'], '<coap://x/1>', 40, '4.00'],
      [['ep=a'], '{"x":1}', 50, '4.15'],
    ];
    for (const [query, payload, cf, code] of cases) {
      const res = await c.request('POST', ['rd'], query, payload, cf);
      expect(res.code, JSON.stringify(query) + payload).toBe(code);
    }
    expect(h.ctx.facts.filter((f) => f.type === 'decodeError')).toHaveLength(cases.length);
    expect((await c.request('POST', ['rd'], ['ep=ok'], '</1/0>', 40)).code).toBe('2.01');
    expect((await c.request('DELETE', ['rd'])).code).toBe('4.05');
  });

  it('counts malformed registrations under one fixed reason, with what was wrong as the error', async () => {
    h = await startHarness({ unknown_endpoints: 'accept' });
    const c = await h.client({ endpoint: 'x' });
    for (let i = 0; i < 20; i++) {
      expect((await c.request('POST', ['rd'], ['ep=x', `lt=z${i}`], '</1/0>', 40)).code).toBe('4.00');
    }
    expect((await c.request('POST', ['rd'], [`ep=${'\u00e9'.repeat(3)}`], '</1/0>', 40)).code).toBe('4.00');
    expect((await c.request('POST', ['rd'], ['ep=x'], '</1/0', 40)).code).toBe('4.00');
    const errors = h.ctx.facts.filter((f) => f.type === 'decodeError');
    expect(errors).toHaveLength(22);
    expect(new Set(errors.map((f) => f.reason))).toEqual(new Set(['lwm2m_registration']));
    expect(errors.map((f) => f.error)).toContain('bad lifetime "lt=z7"');
  });

  it('refuses unknown endpoints unless permit_join is on, and announces them either way', async () => {
    h = await startHarness();
    const c = await h.client({ endpoint: 'Stranger.01' });
    await expect(c.register()).rejects.toThrow(/4\.03/);
    const seen = await h.ctx.waitFor('deviceSeen');
    expect(seen.seen).toMatchObject({
      transport: 'coap',
      address: 'Stranger.01',
      suggested_config: { id: 'stranger-01', transport: 'coap', lwm2m: { endpoint: 'Stranger.01' } },
    });
    h.ctx.permit = true;
    await c.register();
    expect(h.server.status()).toMatchObject({ registrations: 1, onboarded: 0 });
    // Onboarding binds the live registration without a new Register.
    h.ctx.devicesList = [{ id: 'stranger', transport: 'coap', lwm2m: { endpoint: 'Stranger.01' } }];
    h.server.devicesChanged();
    await h.ctx.waitFor('availability', (f) => f.deviceId === 'stranger' && f.online);
    await h.ctx.waitFor('telemetry', (f) => f.deviceId === 'stranger' && f.values.temperature === 25.5);
  });

  it('reports offline when the lifetime expires without an Update', async () => {
    h = await startHarness({ lifetime_grace_s: 0 }, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1', lifetime: 1 });
    await c.register();
    await h.ctx.waitFor('availability', (f) => f.online);
    const started = Date.now();
    await h.ctx.waitFor('availability', (f) => f.deviceId === 'node1' && !f.online, 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(await c.update()).toBe('4.04');
    expect(h.server.status()).toMatchObject({ registrations: 0 });
  });

  it('ends the observations on De-register: the transport count returns to its baseline after each cycle', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const baseline = h.endpoint.stats().observations ?? 0;
    const c = await h.client({ endpoint: 'zephyr-node1' });
    for (let cycle = 0; cycle < 3; cycle++) {
      await c.register();
      await expect.poll(() => h.server.status().observations).toBe(2);
      expect(h.endpoint.stats().observations).toBe(baseline + 2);
      expect(await c.deregister()).toBe('2.02');
      expect(h.server.status()).toMatchObject({ observations: 0 });
      expect(h.endpoint.stats().observations).toBe(baseline);
    }
  });

  it('De-register sends no deregistering GET: the client has left, the relations end here', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    await c.register();
    await expect.poll(() => h.server.status().observations).toBe(2);
    const cancelled: string[] = [];
    c.on('cancel', (path: string) => cancelled.push(path));
    expect(await c.deregister()).toBe('2.02');
    // A second De-register (4.04: the registration is gone) is answered after anything the first one made the
    // server send: a deregistering GET would have reached the client by then.
    expect(await c.deregister()).toBe('4.04');
    expect(cancelled).toEqual([]);
    expect(h.endpoint.stats().outstanding_con).toBe(0);
  });

  it('after the lifetime expired, a notification on the old token is refused and reports nothing', async () => {
    h = await startHarness({ lifetime_grace_s: 0 }, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const baseline = h.endpoint.stats().observations ?? 0;
    const c = await h.client({ endpoint: 'zephyr-node1', lifetime: 1 });
    await c.register();
    await expect.poll(() => h.server.status().observations).toBe(2);
    // Out of reach when the registration ends (nothing the server sends arrives), back afterwards.
    c.sleeping = true;
    await h.ctx.waitFor('availability', (f) => !f.online, 3000);
    expect(h.endpoint.stats().observations).toBe(baseline);
    // Ended here: no deregistering GET is left retransmitting towards a client that is gone.
    expect(h.endpoint.stats().outstanding_con).toBe(0);
    c.sleeping = false;
    const mark = h.ctx.facts.length;
    c.setValue('/3303/0/5700', 12.5);
    // The RST drops the client's observer.
    await expect.poll(() => [...c.observers.values()].some((o) => o.path.obj === 3303)).toBe(false);
    expect(h.ctx.facts.slice(mark)).toEqual([]);
  });

  it('an Update extends the lifetime', async () => {
    h = await startHarness({ lifetime_grace_s: 0 }, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1', lifetime: 2 });
    await c.register();
    for (let i = 0; i < 3; i++) {
      // The lifetime's own timer: 0.8 s of a 2 s lifetime between Updates (no event to wait for instead).
      await new Promise((r) => setTimeout(r, 800));
      expect(await c.update()).toBe('2.04');
    }
    expect(h.ctx.facts.some((f) => f.type === 'availability' && !f.online)).toBe(false);
  });

  it('re-registration after a client restart replaces the old registration and re-observes', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    const first = await c.register();
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 25.5);
    const oldLocation = c.location;
    await c.restart();
    c.setValue('/3303/0/5700', 19);
    const mark = h.ctx.facts.length;
    const second = await c.register();
    expect(second).not.toBe(first);
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 19, 3000, mark);
    c.setValue('/3303/0/5700', 20.5);
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 20.5, 3000, mark);
    c.location = oldLocation;
    expect(await c.update()).toBe('4.04');
    expect(h.server.status()).toMatchObject({ registrations: 1 });
  });

  it('bounds the number of registrations with 5.03, still letting a known endpoint re-register', async () => {
    h = await startHarness({ unknown_endpoints: 'accept', max_registrations: 2 });
    const a = await h.client({ endpoint: 'a' });
    const b = await h.client({ endpoint: 'b' });
    const c = await h.client({ endpoint: 'c' });
    await a.register();
    await b.register();
    await expect(c.register()).rejects.toThrow(/5\.03/);
    await a.restart();
    await a.register();
    expect(h.server.status()).toMatchObject({ registrations: 2 });
  });

  it('drops the MQTT view of a device removed from the config', async () => {
    h = await startHarness({}, [{ id: 'node1', endpoint: 'zephyr-node1' }]);
    const c = await h.client({ endpoint: 'zephyr-node1' });
    await c.register();
    await h.ctx.waitFor('telemetry', (f) => f.values.temperature === 25.5);
    h.ctx.devicesList = [];
    h.server.devicesChanged();
    expect(h.server.handles('node1')).toBe(false);
    expect(h.server.status()).toMatchObject({ registrations: 1, onboarded: 0 });
    const mark = h.ctx.facts.length;
    c.setValue('/3303/0/5700', 30);
    // The notification still arrives (the client is registered) but is no longer reported for node1.
    await c.update();
    expect(h.ctx.facts.slice(mark).filter((f) => f.type === 'telemetry')).toEqual([]);
  });

  it('survives random registration requests: only 2.01/4.xx answers, then serves a valid client', async () => {
    h = await startHarness({ unknown_endpoints: 'accept' });
    const c = await h.client({ endpoint: 'fuzz' });
    let seed = 99;
    const rnd = () => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 0x100000000;
    };
    const pieces = [
      'ep=',
      'lt=',
      'lwm2m=',
      'b=',
      'Q',
      '1.1',
      '300',
      'U',
      'x',
      '</',
      '>',
      ';',
      ',',
      '"',
      '=',
      '/3/0',
      '\u00ff',
    ];
    const pick = (k: number) => Array.from({ length: k }, () => pieces[Math.floor(rnd() * pieces.length)]).join('');
    const codes = new Set<string>();
    for (let i = 0; i < 150; i++) {
      const query = Array.from({ length: Math.floor(rnd() * 4) }, () => pick(1 + Math.floor(rnd() * 3)));
      const cf = rnd() < 0.8 ? 40 : Math.floor(rnd() * 200);
      const path = rnd() < 0.7 ? ['rd'] : ['rd', pick(2)];
      const res = await c.request(rnd() < 0.8 ? 'POST' : 'DELETE', path, query, pick(Math.floor(rnd() * 6)), cf);
      codes.add(res.code);
      expect(res.code, `${path.join('/')}?${query.join('&')}`).toMatch(/^(2\.01|2\.02|2\.04|4\.0[0345]|4\.15)$/);
    }
    expect(codes.size).toBeGreaterThan(1);
    const ok = await h.client({ endpoint: 'after-fuzz' });
    expect(await ok.register()).toMatch(/^[0-9a-f]{24}$/);
  });
});

describe('lifetimes longer than a timer can wait', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lt=2592000 (30 days) stays registered past 2^31 ms and expires at its end', async () => {
    vi.useFakeTimers();
    const { ctx, server, register } = await startOfflineServer(
      [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1', observe: [] } }],
      { lifetime_grace_s: 0 },
    );
    await register(['lt=2592000', 'Q']);
    expect(ctx.facts).toContainEqual({
      type: 'availability',
      deviceId: 'node1',
      online: true,
      validForMs: 2_592_000_000,
    });
    await vi.advanceTimersByTimeAsync(2 ** 31);
    expect(server.status()).toMatchObject({ registrations: 1 });
    await vi.advanceTimersByTimeAsync(2_592_000_000 - 2 ** 31 - 1000);
    expect(server.status()).toMatchObject({ registrations: 1 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(server.status()).toMatchObject({ registrations: 0 });
    expect(ctx.facts.filter((f) => f.type === 'availability').map((f) => f.online)).toEqual([true, false]);
    await server.stop();
  });
});
