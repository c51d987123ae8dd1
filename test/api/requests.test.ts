// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// bridge/request/* through MQTT: transactions, permit_join, health_check, info, config reload and
// onboarding (device add/remove/rename) that edits the YAML file keeping its comments.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type ResponsePayload, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type Event = { type: string; data: Record<string, unknown> };

/** The names device_seen_unknown announces from now on, as they arrive. */
async function announcedNames(client: MqttClient): Promise<string[]> {
  const names: string[] = [];
  client.on('message', (t, p) => {
    const event = JSON.parse(p.toString()) as Event;
    if (t === 'zephyr2mqtt/bridge/event' && event.type === 'device_seen_unknown') names.push(String(event.data.name));
  });
  await client.subscribeAsync('zephyr2mqtt/bridge/event', { qos: 1 });
  return names;
}
type Info = {
  permit_join: boolean;
  permit_join_timeout: number;
  permit_join_end?: number;
  devices: number;
  config: Record<string, unknown>;
};

describe('bridge requests', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start() {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway({ devices: [{ id: 'dev1', transport: 'test' }] }, { adapterModules: [adapter.module] });
    return { gw, adapter, client: await gw.connect() };
  }

  /** Adds comments and blank lines to the config file the helper wrote. */
  async function commentConfig(g: TestGateway): Promise<string> {
    const text = await readFile(g.configPath, 'utf8');
    const commented = `# Site: test bench\n\n${text.replace('devices:', '# Devices below are onboarded by the API\ndevices:')}\n# end of file\n`;
    await writeFile(g.configPath, commented);
    return commented;
  }

  it('echoes any JSON transaction, as Zigbee2MQTT does, and answers bad JSON with an error', async () => {
    const { gw, client } = await start();
    for (const transaction of ['abc', 42, { app: 'ha', n: 1 }, [1, 'x'], false, null]) {
      const res = await gw.expectMessage<ResponsePayload>(
        client,
        'zephyr2mqtt/bridge/response/health_check',
        (r) => JSON.stringify(r.transaction) === JSON.stringify(transaction),
      );
      await client.publishAsync('zephyr2mqtt/bridge/request/health_check', JSON.stringify({ transaction }));
      expect(await res.message).toEqual({ status: 'ok', data: { healthy: true, reasons: [] }, transaction });
    }
    const bad = await gw.expectMessage<ResponsePayload>(client, 'zephyr2mqtt/bridge/response/info');
    await client.publishAsync('zephyr2mqtt/bridge/request/info', '{"transaction": ');
    expect(await bad.message).toEqual({ status: 'error', data: {}, error: 'payload is not valid JSON' });
    // Plain text is the bare value, as in Zigbee2MQTT (`device/remove` with the id).
    const plain = await gw.expectMessage<ResponsePayload>(client, 'zephyr2mqtt/bridge/response/device/remove');
    await client.publishAsync('zephyr2mqtt/bridge/request/device/remove', 'ghost');
    expect(await plain.message).toEqual({ status: 'error', data: {}, error: 'unknown device "ghost"' });
  });

  it('permit_join validates its value, times out, and announces unknown devices only while on', async () => {
    const { gw, adapter, client } = await start();
    expect(await gw.request(client, 'permit_join', { value: 'yes' })).toMatchObject({
      status: 'error',
      error: 'expected {"value": true|false|seconds (0..3600)}, got "yes"',
    });
    expect(await gw.request(client, 'permit_join', { value: true, time: 5000 })).toMatchObject({
      status: 'error',
      error: '"time" must be whole seconds 0..3600, got 5000',
    });
    expect(await gw.request(client, 'permit_join', { value: -1 })).toMatchObject({ status: 'error' });

    const events: Event[] = [];
    client.on('message', (t, p) => {
      if (t === 'zephyr2mqtt/bridge/event') events.push(JSON.parse(p.toString()) as Event);
    });
    await client.subscribeAsync('zephyr2mqtt/bridge/event');
    const ctx = adapter.current().ctx;
    ctx.deviceSeen({ transport: 'test', address: 'before' }); // permit_join off: not announced

    const opened = Date.now();
    expect((await gw.request(client, 'permit_join', { value: 1 })).data).toEqual({ value: true, time: 1 });
    expect(ctx.permitJoin()).toBe(true);
    // Zigbee2MQTT 2.x's end time, in ms since the epoch.
    const end = gw.gateway.info().permit_join_end ?? 0;
    expect(end).toBeGreaterThanOrEqual(opened + 1000 - 50);
    expect(end).toBeLessThanOrEqual(Date.now() + 1000 + 50);
    const seen = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'device_seen_unknown',
    );
    ctx.deviceSeen({ transport: 'test', address: 'new-1', name: 'node' });
    ctx.deviceSeen({ transport: 'test', address: 'new-1', name: 'node' }); // deduplicated
    expect(await seen.message).toEqual({
      type: 'device_seen_unknown',
      data: { transport: 'test', address: 'new-1', name: 'node' },
    });
    // bridge/info says when it turned itself off.
    const off = await gw.waitForMessage<Info>(client, 'zephyr2mqtt/bridge/info', (i) => !i.permit_join, 3000);
    expect(off.permit_join_timeout).toBe(0);
    expect(off).not.toHaveProperty('permit_join_end');
    expect(ctx.permitJoin()).toBe(false);
    expect(events.filter((e) => e.type === 'device_seen_unknown').map((e) => e.data.address)).toEqual(['new-1']);
  });

  it('a suggested_config without an id (serial, BLE) is announced with one that device/add takes as it is', async () => {
    const { gw, client, adapter } = await start();
    expect((await gw.request(client, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const seen = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'device_seen_unknown' && e.data.address === 'usb-1',
    );
    const suggested_config = { transport: 'test', address: 'usb-1' };
    adapter.current().ctx.deviceSeen({ transport: 'test', address: 'usb-1', name: 'Dev1', suggested_config });
    const { data } = await seen.message;
    // "dev1" is taken: the next free one.
    expect(data.suggested_config).toEqual({ id: 'dev1-2', transport: 'test', address: 'usb-1' });
    expect((await gw.request(client, 'device/add', data.suggested_config)).status).toBe('ok');
    expect(gw.gateway.devices.get('dev1-2')?.config).toMatchObject({ address: 'usb-1' });
  });

  it('announces at most 8 names a minute from one address (an address cycling ids is not an endless stream)', async () => {
    const { gw, client, adapter } = await start();
    expect((await gw.request(client, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const names = await announcedNames(client);
    const ctx = adapter.current().ctx;
    for (let i = 0; i < 12; i++) ctx.deviceSeen({ transport: 'test', address: 'one-host', name: `id${i}` });
    ctx.deviceSeen({ transport: 'test', address: 'other-host', name: 'id0' });
    await expect.poll(() => names.length).toBeGreaterThanOrEqual(9);
    // A request answered after them: every event published before it has arrived.
    expect((await gw.request(client, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    expect(names).toEqual([...Array.from({ length: 8 }, (_, i) => `id${i}`), 'id0']);
  });

  it('permit_join takes the time Z2M-style ({"value": true, "time": 60}), true alone opens for 254 s', async () => {
    const { gw, client } = await start();
    const cases: Array<[Record<string, unknown>, { value: boolean; time: number }]> = [
      [
        { value: true, time: 60 },
        { value: true, time: 60 },
      ],
      [{ value: true }, { value: true, time: 254 }],
      [{ time: 30 }, { value: true, time: 30 }],
      [
        { value: 45, time: 10 },
        { value: true, time: 45 },
      ],
      [
        { value: false, time: 60 },
        { value: false, time: 0 },
      ],
      // Strings, as shell scripts and Node-RED send them.
      [
        { value: 'true', time: '60' },
        { value: true, time: 60 },
      ],
      [{ value: 'false' }, { value: false, time: 0 }],
    ];
    for (const [request, expected] of cases)
      expect((await gw.request(client, 'permit_join', request)).data).toEqual(expected);
  });

  it('info carries version, config summary and adapter status', async () => {
    const { gw, client } = await start();
    const res = await gw.request(client, 'info');
    expect(res.status).toBe('ok');
    expect(res.data).toMatchObject({
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      gateway_id: 'test-gw',
      base_topic: 'zephyr2mqtt',
      devices: 1,
      adapters: { test: { state: 'running' } },
      config: { version: 1, devices_per_transport: { test: 1 }, adapters_enabled: ['test'], property_topics: false },
    });
    const retained = await gw.waitForMessage<Info>(client, 'zephyr2mqtt/bridge/info');
    expect(retained.devices).toBe(1);
  });

  it('config/reload applies a valid file without dropping clients, and rejects an invalid one', async () => {
    const { gw, adapter, client } = await start();
    let closed = false;
    client.on('close', () => {
      closed = true;
    });
    const original = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, original.replace('devices:', 'devices:\n  - id: dev9\n    transport: test'));
    const joined = await gw.expectMessage<Event>(client, 'zephyr2mqtt/bridge/event', (e) => e.type === 'device_joined');
    const ok = await gw.request(client, 'config/reload');
    expect(ok).toMatchObject({ status: 'ok', data: { added: ['dev9'], removed: [], changed: [] } });
    expect(await joined.message).toEqual({ type: 'device_joined', data: { id: 'dev9' } });
    expect(
      adapter
        .current()
        .ctx.devices()
        .map((d) => d.id),
    ).toEqual(['dev9', 'dev1']);
    expect(adapter.instances).toHaveLength(1); // the adapter was told, not restarted
    expect(adapter.current().devicesChangedCalls).toBe(1);

    await writeFile(gw.configPath, `${original}\nhttp: { port: nope }\n`);
    const rejected = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'config_error',
    );
    const bad = await gw.request(client, 'config/reload');
    expect(bad.status).toBe('error');
    expect(bad.error).toMatch(/http: duplicate key "http" \(first on line \d+\)/);
    const event = await rejected.message;
    expect(event.data).toMatchObject({ source: 'request' });
    expect(String(event.data.error)).toContain(gw.configPath);
    // The running config stays: dev9 is still there.
    expect(gw.gateway.devices.get('dev9')).toBeDefined();
    expect(closed).toBe(false);
    expect(client.connected).toBe(true);
  });

  it('device/add appends the entry keeping comments, writes atomically and applies it', async () => {
    const { gw, adapter, client } = await start();
    const before = await commentConfig(gw);
    const res = await gw.request(client, 'device/add', {
      id: 'kitchen',
      transport: 'test',
      address: 'k1',
      name: 'Kitchen',
    });
    expect(res).toMatchObject({ status: 'ok', data: { added: ['kitchen'], removed: [], changed: [] } });
    const after = await readFile(gw.configPath, 'utf8');
    // Everything before the devices list is byte for byte what the user wrote.
    expect(after.split('devices:')[0]).toBe(before.split('devices:')[0]);
    expect(after).toContain('# Site: test bench\n\n');
    expect(after).toContain('# Devices below are onboarded by the API\ndevices:');
    expect(after).toContain('# end of file');
    expect(after).toMatch(/- id: kitchen\n\s+transport: test\n\s+address: k1\n\s+name: Kitchen\n/);
    // No temp file left behind.
    expect((await readdir(dirname(gw.configPath))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(
      adapter
        .current()
        .ctx.devices()
        .map((d) => d.id),
    ).toContain('kitchen');
    // bridge/devices is coalesced (at most one publication per 200 ms): wait for the new list.
    const list = await gw.waitForMessage<Array<{ id: string }>>(client, 'zephyr2mqtt/bridge/devices', (l) =>
      l.some((d) => d.id === 'kitchen'),
    );
    expect(list.map((d) => d.id)).toEqual(['dev1', 'kitchen']);

    const dup = await gw.request(client, 'device/add', { id: 'kitchen', transport: 'test' });
    expect(dup).toMatchObject({ status: 'error', error: 'device "kitchen" already exists' });
    // The entry is checked on its own: its keys are named, not lines of a file that was never written.
    const invalid = await gw.request(client, 'device/add', { id: 'Bad Id', transport: 'test' });
    expect(invalid).toMatchObject({
      status: 'error',
      error:
        'the proposed entry is invalid: id: expected lowercase letters, digits, "-" and "_", starting with a letter or digit, got "Bad Id" (hint: did you mean "bad-id"?)',
    });
    const unknownKey = await gw.request(client, 'device/add', { id: 'x', transport: 'test', adress: 'y' });
    expect(unknownKey.error).toBe(
      'the proposed entry is invalid: adress: unknown key "adress" (hint: did you mean "address"?)',
    );
    const badRename = await gw.request(client, 'device/rename', { from: 'kitchen', to: 'bridge' });
    expect(badRename.error).toBe(
      'the proposed change is invalid: to: "bridge" is reserved for the gateway\'s own topics (<base>/bridge/...) (hint: choose another id, e.g. "bridge-1")',
    );
    expect(await readFile(gw.configPath, 'utf8')).toBe(after); // rejected changes are not written
    // A file edited by hand into an invalid state (and not reloaded) is named as the problem, not the request.
    await writeFile(gw.configPath, `${after}bogus: 1\n`);
    const broken = await gw.request(client, 'device/add', { id: 'y', transport: 'test' });
    expect(broken.error).toMatch(/^the config file has problems to fix first: \S+:\d+:1 bogus: unknown key "bogus"/);
  });

  it('device/add and device/rename write ${...} in values literally: a client cannot read files or variables', async () => {
    const { gw, client } = await start();
    const sent = '${HOME} ${file:/etc/hostname}';
    expect((await gw.request(client, 'device/add', { id: 'probe', transport: 'test', name: sent })).status).toBe('ok');
    const listed = await gw.waitForMessage<Array<{ id: string; name?: string }>>(
      client,
      'zephyr2mqtt/bridge/devices',
      (l) => l.some((d) => d.id === 'probe'),
    );
    expect(listed.find((d) => d.id === 'probe')?.name).toBe(sent);
    expect((await gw.request(client, 'device/rename', { from: 'probe', name: '${PATH}' })).status).toBe('ok');
    expect(gw.gateway.devices.get('probe')?.config.name).toBe('${PATH}');
    // And after a reload from the file, still as sent.
    expect((await gw.request(client, 'config/reload')).status).toBe('ok');
    expect(gw.gateway.devices.get('probe')?.config.name).toBe('${PATH}');
  });

  it('an empty config file (an editor still writing it) is refused by reload and by onboarding', async () => {
    const { gw, client } = await start();
    await writeFile(gw.configPath, '# being written\n');
    const rejected = await gw.expectMessage<Event>(
      client,
      'zephyr2mqtt/bridge/event',
      (e) => e.type === 'config_error',
    );
    const reload = await gw.request(client, 'config/reload');
    expect(reload).toMatchObject({ status: 'error', error: expect.stringContaining('the file is empty') });
    expect((await rejected.message).data.issues).toEqual([expect.objectContaining({ path: '' })]);
    expect(gw.gateway.devices.get('dev1')).toBeDefined(); // the running config stays
    const add = await gw.request(client, 'device/add', { id: 'new', transport: 'test' });
    expect(add).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^the config file has problems to fix first: .*the file is empty/),
    });
    expect(await readFile(gw.configPath, 'utf8')).toBe('# being written\n');
  });

  it('device/options sets and removes keys of the entry in the file, applies them and answers before/after', async () => {
    const { gw, client } = await start();
    const commented = await commentConfig(gw);
    const res = await gw.request(client, 'device/options', {
      id: 'dev1',
      options: { address: 'aa:bb', availability_timeout: 90, name: 'Bench' },
    });
    expect(res).toMatchObject({
      status: 'ok',
      data: {
        id: 'dev1',
        from: { id: 'dev1', transport: 'test', disabled: false },
        to: {
          id: 'dev1',
          transport: 'test',
          disabled: false,
          address: 'aa:bb',
          availability_timeout: 90,
          name: 'Bench',
        },
        restart_required: false,
        changed: ['dev1'],
      },
    });
    expect((res.data as { from: Record<string, unknown> }).from).not.toHaveProperty('address');
    let text = await readFile(gw.configPath, 'utf8');
    expect(text.startsWith('# Site: test bench\n')).toBe(true);
    expect(text).toContain('# end of file');
    expect(text).toMatch(
      /- id: dev1\n\s+transport: test\n\s+address: aa:bb\n\s+availability_timeout: 90\n\s+name: Bench\n/,
    );
    expect(gw.gateway.devices.get('dev1')?.config).toMatchObject({ address: 'aa:bb', availability_timeout: 90 });

    const removed = await gw.request(client, 'device/options', { id: 'dev1', options: { address: null, name: null } });
    expect(removed).toMatchObject({ status: 'ok', data: { from: { address: 'aa:bb', name: 'Bench' } } });
    expect((removed.data as { to: Record<string, unknown> }).to).not.toHaveProperty('address');
    expect((removed.data as { to: Record<string, unknown> }).to).not.toHaveProperty('name');
    text = await readFile(gw.configPath, 'utf8');
    expect(text).toBe(commented.replace(/(- id: dev1\n(\s+)transport: test\n)/, '$1$2availability_timeout: 90\n'));
  });

  it('device/options refuses invalid values, the id and transport, and unknown devices, writing nothing', async () => {
    const { gw, client } = await start();
    const before = await readFile(gw.configPath, 'utf8');
    const bad = await gw.request(client, 'device/options', { id: 'dev1', options: { availability_timeout: -5 } });
    expect(bad).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^the proposed options are invalid: availability_timeout: /),
    });
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { colour: 'red' } })).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^the proposed options are invalid: .*colour/),
    });
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { transport: 'ble' } })).toMatchObject({
      status: 'error',
      error:
        '"transport" cannot be changed with device/options: remove the device and add it again with the other ' +
        'transport (device/remove, device/add)',
    });
    // A "__proto__" key is a key like any other (unknown here), not the prototype of the entry checked.
    const proto = JSON.parse('{"id":"dev1","options":{"__proto__":{"availability_timeout":5}}}') as unknown;
    expect(await gw.request(client, 'device/options', proto)).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^the proposed options are invalid: __proto__: unknown key "__proto__"/),
    });
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { id: 'dev9' } })).toMatchObject({
      status: 'error',
      error: '"id" cannot be changed with device/options: device/rename changes the id',
    });
    expect(await gw.request(client, 'device/options', { id: 'ghost', options: { name: 'x' } })).toMatchObject({
      status: 'error',
      error: 'unknown device "ghost"',
    });
    expect(await gw.request(client, 'device/options', { id: 'dev1' })).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^expected \{"id"/),
    });
    expect(await readFile(gw.configPath, 'utf8')).toBe(before);
  });

  it('options merges settings into the file, applies them and says when a restart is needed', async () => {
    const { gw, client } = await start();
    const commented = await commentConfig(gw);
    const res = await gw.request(client, 'options', { options: { api: { availability_timeout: 300 } } });
    expect(res).toMatchObject({ status: 'ok', data: { restart_required: false } });
    expect(res.data).toEqual({ restart_required: false });
    expect(gw.gateway.config.api.availability_timeout).toBe(300);
    let text = await readFile(gw.configPath, 'utf8');
    expect(text).toContain('# Site: test bench');
    expect(text).toContain('availability_timeout: 300');

    const restart = await gw.request(client, 'options', { options: { gateway: { id: 'renamed-gw' } } });
    expect(restart).toMatchObject({ status: 'ok' });
    expect(restart.data).toEqual({ restart_required: true, restart_keys: ['gateway.id'] });
    expect(gw.gateway.config.gateway.id).toBe('test-gw');
    expect(gw.gateway.info().restart_required).toBe(true);

    const before = await readFile(gw.configPath, 'utf8');
    const bad = await gw.request(client, 'options', { options: { api: { availability_timeout: -1 } } });
    expect(bad).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^the change would make the config invalid: .*availability_timeout/),
    });
    expect(await gw.request(client, 'options', { options: { devices: [] } })).toMatchObject({
      status: 'error',
      error: expect.stringContaining('"devices" cannot be changed with options'),
    });
    expect(await gw.request(client, 'options', {})).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^expected \{"options"/),
    });
    // "__proto__" is an unknown key like any other, at the top and inside a section.
    for (const options of ['{"__proto__":{"api":{"availability_timeout":5}}}', '{"api":{"__proto__":{"x":1}}}']) {
      const proto = JSON.parse(`{"options":${options}}`) as unknown;
      expect(await gw.request(client, 'options', proto)).toMatchObject({
        status: 'error',
        error: expect.stringMatching(/^the change would make the config invalid: .*unknown key "__proto__"/),
      });
    }
    text = await readFile(gw.configPath, 'utf8');
    expect(text).toBe(before);
    expect(commented).toContain('# end of file');
    expect(text).toContain('# end of file');
  });

  it('device/remove and device/rename edit the file and clear retained topics of the old id', async () => {
    const { gw, adapter, client } = await start();
    await commentConfig(gw);
    const state = await gw.expectMessage(client, 'zephyr2mqtt/dev1');
    adapter.current().ctx.telemetry('dev1', { temperature: 20 });
    await state.message;

    const renamed = await gw.request(client, 'device/rename', { from: 'dev1', to: 'living', name: 'Living room' });
    // Zigbee2MQTT's keys beside the diff.
    expect(renamed).toMatchObject({
      status: 'ok',
      data: { added: ['living'], removed: ['dev1'], from: 'dev1', to: 'living', homeassistant_rename: false },
    });
    let text = await readFile(gw.configPath, 'utf8');
    expect(text).toMatch(/- id: living\n\s+transport: test\n\s+name: Living room\n/);
    // The state moves to the new id.
    const moved = await gw.waitForMessage<Record<string, unknown>>(client, 'zephyr2mqtt/living');
    expect(moved.temperature).toBe(20);
    expect(await gw.waitForMessage(client, 'zephyr2mqtt/living/availability')).toEqual({ state: 'online' });
    expect(text).toContain('# Devices below are onboarded by the API');
    // The old retained state is cleared: a new subscriber gets nothing for dev1 but the new device's entry.
    const late = await gw.connect();
    const retained: string[] = [];
    late.on('message', (t, p) => {
      if (p.length > 0) retained.push(t);
    });
    await late.subscribeAsync('zephyr2mqtt/dev1');
    await gw.waitForMessage(late, 'zephyr2mqtt/bridge/devices'); // retained messages arrive in subscribe order
    expect(retained).not.toContain('zephyr2mqtt/dev1');

    expect(await gw.request(client, 'device/rename', { from: 'ghost', to: 'x' })).toMatchObject({
      status: 'error',
      error: 'unknown device "ghost"',
    });
    const removed = await gw.request(client, 'device/remove', { id: 'living' });
    expect(removed).toMatchObject({
      status: 'ok',
      data: { removed: ['living'], id: 'living', block: false, force: false },
    });
    text = await readFile(gw.configPath, 'utf8');
    expect(text).not.toContain('living');
    expect(text).toContain('# end of file');
    expect(gw.gateway.devices.all()).toEqual([]);
  });

  it('device/remove with block: true puts the device on the blocklist: never announced again, counted; options unblocks', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'dev1', transport: 'test', address: 'aa:bb:cc:dd:ee:01' },
          { id: 'bare', transport: 'test' },
        ],
      },
      { adapterModules: [adapter.module] },
    );
    const client = await gw.connect();
    await commentConfig(gw);
    const ctx = adapter.current().ctx;
    // Nothing the adapter sees of it before it is configured: refused, nothing written.
    const before = await readFile(gw.configPath, 'utf8');
    expect(await gw.request(client, 'device/remove', { id: 'bare', block: true })).toMatchObject({
      status: 'error',
      error: expect.stringMatching(/^device "bare" has nothing to block it by/),
    });
    expect(await gw.request(client, 'device/remove', { id: 'dev1', block: 'yes' })).toMatchObject({
      status: 'error',
      error: '"block" must be true or false, got "yes"',
    });
    expect(await readFile(gw.configPath, 'utf8')).toBe(before);

    const removed = await gw.request(client, 'device/remove', { id: 'dev1', block: true, force: true });
    expect(removed).toMatchObject({ status: 'ok' });
    expect(removed.data).toEqual({
      added: [],
      removed: ['dev1'],
      changed: [],
      id: 'dev1',
      block: true,
      force: true,
      blocklist: [{ transport: 'test', address: 'aa:bb:cc:dd:ee:01' }],
    });
    const text = await readFile(gw.configPath, 'utf8');
    expect(parse(text)).toMatchObject({
      devices: [{ id: 'bare' }],
      blocklist: [{ transport: 'test', address: 'aa:bb:cc:dd:ee:01' }],
    });
    expect(text).toContain('# end of file');

    // permit_join on: the blocked device (its address in another spelling) is not announced, and counted; others are.
    expect((await gw.request(client, 'permit_join', { value: true, time: 60 })).status).toBe('ok');
    const names = await announcedNames(client);
    expect(ctx.deviceSeen({ transport: 'test', address: 'AA-BB-CC-DD-EE-01', name: 'old' })).toBe('blocked');
    expect(ctx.deviceSeen({ transport: 'test', address: 'aa:bb:cc:dd:ee:02', name: 'new' })).toBe('noted');
    await expect.poll(() => names).toEqual(['new']);
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toContain('zephyr2mqtt_blocked_total{adapter="test"} 1');
    // Blocking the same device again (added by hand meanwhile) keeps one entry.
    expect(
      (await gw.request(client, 'device/add', { id: 'dev1', transport: 'test', address: 'aa:bb:cc:dd:ee:01' })).status,
    ).toBe('ok');
    expect((await gw.request(client, 'device/remove', { id: 'dev1', block: true })).status).toBe('ok');
    expect((parse(await readFile(gw.configPath, 'utf8')) as { blocklist: unknown[] }).blocklist).toHaveLength(1);

    // Unblocked with bridge/request/options (or by editing the file and reloading): announced again.
    expect(await gw.request(client, 'options', { options: { blocklist: [] } })).toMatchObject({ status: 'ok' });
    expect(ctx.deviceSeen({ transport: 'test', address: 'AA-BB-CC-DD-EE-01', name: 'old' })).toBe('noted');
    await expect.poll(() => names).toEqual(['new', 'old']);
  });
});
