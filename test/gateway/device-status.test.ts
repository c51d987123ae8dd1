// What the gateway itself reports about a device (AdapterContext.deviceStatus: firmware update progress in
// `update`): merged into the state like telemetry, but not a sign of life, not counted against the state limits,
// and a leftover "updating" from a run that crashed mid-upload becomes "failed" at the next start.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fitState, withinStateLimits } from '../../gateway/devices/state-limits.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type State = Record<string, unknown>;
type Warning = { msg: string; device?: string; setting?: string };

describe('device status', () => {
  let dataDir: string;
  let gw: TestGateway | undefined;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-status-'));
  });
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  async function start(extra: Record<string, unknown> = {}) {
    const adapter = createTestAdapterModule();
    const warnings: Warning[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    gw = await startTestGateway(
      { gateway: { data_dir: dataDir }, devices: [{ id: 'dev1', transport: 'test' }], ...extra },
      { adapterModules: [adapter.module], logger },
    );
    const ctx = adapter.current().ctx;
    const record = () => gw!.gateway.devices.get('dev1')!;
    return { gw, ctx, record, warnings, client: await gw.connect() };
  }

  it('keeps an offline device offline with the same last_seen, and its state carries the update', async () => {
    const { gw, ctx, record, client } = await start();
    const first = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (s) => s.t === 1);
    expect(ctx.telemetry('dev1', { t: 1 })).toBe('accepted');
    const lastSeen = (await first.message).last_seen;
    const offline = await gw.expectMessage(
      client,
      'zephyr2mqtt/dev1/availability',
      (a: State) => a.state === 'offline',
    );
    ctx.availability('dev1', false); // the port was unplugged mid-upload
    await offline.message;
    const { lastSeen: lastSeenBefore, heardAt } = record();

    const update = { state: 'failed', error: 'port closed' };
    const published = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (s) => 'update' in s);
    ctx.deviceStatus('dev1', { update });
    expect(await published.message).toEqual({ t: 1, last_seen: lastSeen, update });
    expect(record()).toMatchObject({ online: false, lastSeen: lastSeenBefore, heardAt });
    expect(record().state).toEqual({ t: 1, last_seen: lastSeen, update });
    // The retained availability a subscriber gets is still offline, and bridge/devices says so too.
    expect(JSON.parse(gw.gateway.broker.retained('zephyr2mqtt/dev1/availability')!.toString())).toEqual({
      state: 'offline',
    });
    // bridge/devices is coalesced (one publish per 200 ms): the retained one may still be from before, even from
    // before dev1 was heard (offline, last_seen null).
    const devices = await gw.waitForMessage<Array<{ id: string; availability: string; last_seen: string }>>(
      client,
      'zephyr2mqtt/bridge/devices',
      (list) => {
        const dev1 = list.find((d) => d.id === 'dev1');
        return dev1?.availability === 'offline' && dev1.last_seen !== null;
      },
    );
    expect(devices.find((d) => d.id === 'dev1')).toMatchObject({ availability: 'offline', last_seen: lastSeen });
  });

  it('does not count `update` against the state limits: neither evicts the other', async () => {
    const { gw, ctx, record, warnings, client } = await start({
      api: { max_state_properties: 8, max_state_bytes: 1024 },
    });
    const eight = (tag: number) => Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`p${i}`, tag]));
    expect(ctx.telemetry('dev1', eight(1))).toBe('accepted');
    // An update as big as the byte limit allows for the device's values, on top of eight properties.
    const update = { state: 'failed', error: 'x'.repeat(900) };
    const withUpdate = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (s) => 'update' in s);
    ctx.deviceStatus('dev1', { update });
    expect(await withUpdate.message).toMatchObject({ ...eight(1), update });
    // The device's next full report keeps `update`, and the device's values all stay.
    const next = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (s) => s.p0 === 2);
    expect(ctx.telemetry('dev1', eight(2))).toBe('accepted');
    expect(await next.message).toMatchObject({ ...eight(2), update });
    expect(Object.keys(record().state)).toEqual([...Object.keys(eight(2)), 'last_seen', 'update']);
    expect(warnings.filter((w) => w.setting)).toEqual([]);
  });

  it('drops a property named `update` a device sends: the name is the gateway firmware update status', async () => {
    const { gw, ctx, record, warnings, client } = await start();
    const published = await gw.expectMessage<State>(client, 'zephyr2mqtt/dev1', (s) => s.t === 1);
    expect(ctx.telemetry('dev1', { t: 1, update: 'x'.repeat(200_000) })).toBe('accepted');
    expect(await published.message).not.toHaveProperty('update');
    expect(record().state).not.toHaveProperty('update');
    expect(warnings.map((w) => w.msg)).toEqual([expect.stringContaining('sent a property named "update"')]);
  });

  it('turns a retained "updating" left by a crash into "failed" at the next start, once', async () => {
    const first = await start({ api: { property_topics: true } });
    const updating = { state: 'updating', progress: 42.5, remaining: 37 };
    const before = await first.gw.expectMessage<State>(first.client, 'zephyr2mqtt/dev1', (s) => 'update' in s);
    first.ctx.telemetry('dev1', { t: 1 });
    first.ctx.deviceStatus('dev1', { update: updating });
    const lastSeen = (await before.message).last_seen;
    // What kill -9 leaves behind: the retained state says "updating" (a clean stop changes nothing in it).
    await first.gw.stop();

    const second = await start({ api: { property_topics: true } });
    const failed = { state: 'failed', error: 'interrupted by a gateway restart' };
    expect(second.record().state).toEqual({ t: 1, last_seen: lastSeen, update: failed });
    const retained = await second.gw.expectMessage<State>(second.client, 'zephyr2mqtt/dev1');
    expect(await retained.message).toEqual({ t: 1, last_seen: lastSeen, update: failed });
    expect(JSON.parse(second.gw.gateway.broker.retained('zephyr2mqtt/dev1/update')!.toString())).toEqual(failed);
    expect(second.warnings.map((w) => w.msg)).toEqual([
      'device "dev1": its firmware update was interrupted by a gateway restart',
    ]);
    // A later report merges into the failed state; the next start finds nothing to correct.
    const merged = await second.gw.expectMessage<State>(second.client, 'zephyr2mqtt/dev1', (s) => s.t === 2);
    second.ctx.telemetry('dev1', { t: 2 });
    expect((await merged.message).update).toEqual(failed);
    await second.gw.stop();

    const third = await start({ api: { property_topics: true } });
    expect(third.record().state).toMatchObject({ t: 2, update: failed });
    expect(third.warnings).toEqual([]);
  });

  it('leaves a retained update that is not "updating" as it is', async () => {
    const first = await start();
    const idle = { state: 'idle', installed_version: '1.2.0', latest_version: '1.4.2' };
    const before = await first.gw.expectMessage<State>(first.client, 'zephyr2mqtt/dev1', (s) => 'update' in s);
    first.ctx.deviceStatus('dev1', { update: idle });
    await before.message;
    await first.gw.stop();

    const second = await start();
    expect(second.record().state).toEqual({ update: idle });
    expect(second.warnings).toEqual([]);
  });
});

describe('state limits and the gateway keys', () => {
  const limits = { maxProperties: 2, maxBytes: 1024 };

  it('withinStateLimits counts neither last_seen nor update', () => {
    const state = { a: 1, b: 2, last_seen: 'now', update: { state: 'updating', progress: 1, remaining: 2 } };
    expect(withinStateLimits(state, JSON.stringify(state), limits)).toBe(true);
    const bytes = { a: 'x'.repeat(900), last_seen: 'now', update: { state: 'failed', error: 'y'.repeat(900) } };
    expect(withinStateLimits(bytes, JSON.stringify(bytes), limits)).toBe(true);
    const over = { ...bytes, b: 'z'.repeat(200) };
    expect(withinStateLimits(over, JSON.stringify(over), limits)).toBe(false);
  });

  it('fitState never drops update, and does not drop a device value for it', () => {
    const update = { state: 'failed', error: 'y'.repeat(900) };
    const merged = { update, old: 1, a: 'x'.repeat(900), last_seen: 'now' };
    const result = fitState(merged, { a: merged.a }, JSON.stringify(merged), { maxProperties: 1, maxBytes: 1024 });
    expect(result).toMatchObject({ ok: true, evicted: ['old'], state: { update, a: merged.a, last_seen: 'now' } });
  });
});
