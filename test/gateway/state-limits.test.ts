// api.max_state_properties and api.max_state_bytes through the real gateway: a device that sends new property names
// in every message keeps a bounded state and a bounded retained store; a message too big on its own is refused.
import { readFile, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/errors.js';
import { parseConfigText } from '../../gateway/config/load.js';
import { fitState, withinStateLimits } from '../../gateway/devices/state-limits.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

type State = Record<string, unknown>;

const MESSAGES = 2000;

describe('device state limits', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  async function start(api: Record<string, unknown>) {
    const adapter = createTestAdapterModule();
    const warnings: Array<{ msg: string; device?: string; setting?: string; dropped?: number }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }], api: { property_topics: true, ...api } },
      { adapterModules: [adapter.module], logger },
    );
    const ctx = adapter.current().ctx;
    const state = () => gw!.gateway.devices.get('dev1')!.state;
    const metric = async (line: string) => {
      const text = await (await fetch(`${gw!.httpUrl}/metrics`)).text();
      const found = text.split('\n').find((l) => l.startsWith(line));
      return found === undefined ? 0 : Number(found.split(' ').pop());
    };
    return { gw, ctx, state, metric, warnings, client: await gw.connect() };
  }

  /** Every property topic of dev1 as a subscriber sees it, from now on: the last payload of each. */
  async function followPropertyTopics(client: Awaited<ReturnType<TestGateway['connect']>>) {
    const last = new Map<string, string>();
    const waiting = new Map<string, () => void>();
    client.on('message', (topic, payload) => {
      if (!topic.startsWith('zephyr2mqtt/dev1/') || topic === 'zephyr2mqtt/dev1/availability') return;
      last.set(topic, payload.toString('utf8'));
      waiting.get(topic)?.();
      waiting.delete(topic);
    });
    await client.subscribeAsync('zephyr2mqtt/dev1/+', { qos: 1 });
    return {
      live: () => [...last].filter(([, payload]) => payload !== '').map(([topic]) => topic),
      /** Resolves once `key` is published (call before): the gateway's earlier publishes arrived before it. */
      published: (key: string) => new Promise<void>((resolve) => waiting.set(`zephyr2mqtt/dev1/${key}`, resolve)),
    };
  }

  /** Feeds `count` messages like a device does, a batch per turn of the event loop rather than all in one. */
  async function feed(
    topics: Awaited<ReturnType<typeof followPropertyTopics>>,
    count: number,
    send: (i: number) => void,
  ): Promise<void> {
    for (let i = 0; i < count; i++) {
      const batchEnd = i % 100 === 99 ? topics.published(`k${i}`) : undefined;
      send(i);
      await batchEnd;
    }
  }

  it('keeps the newest values within max_state_properties over 2000 messages with fresh keys', async () => {
    const limit = 16;
    const { gw, ctx, state, metric, warnings, client } = await start({ max_state_properties: limit });
    const topics = await followPropertyTopics(client);
    await feed(topics, MESSAGES, (i) => {
      // temperature is the oldest key, but every message carries it: it is never the one dropped.
      expect(ctx.telemetry('dev1', { temperature: i, [`k${i}`]: i })).toBe('accepted');
      const s = state();
      expect(Object.keys(s).length - 1).toBeLessThanOrEqual(limit);
      expect(s[`k${i}`]).toBe(i);
      expect(s.temperature).toBe(i);
      expect(s.last_seen).toEqual(expect.any(String));
    });
    // The newest limit - 1 fresh keys, in the order they came.
    const kept = Array.from({ length: limit - 1 }, (_, j) => `k${MESSAGES - limit + 1 + j}`);
    expect(Object.keys(state()).filter((k) => k.startsWith('k'))).toEqual(kept);

    const done = topics.published('done');
    ctx.telemetry('dev1', { done: 1 });
    await done;
    const retained = await gw.waitForMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.done === 1);
    expect(Object.keys(retained).length - 1).toBeLessThanOrEqual(limit);
    // What a subscriber sees and what the broker keeps for late subscribers: no more property topics than the limit.
    expect(topics.live().length).toBeLessThanOrEqual(limit);
    const stored = Array.from({ length: MESSAGES }, (_, i) => `k${i}`).filter(
      (k) => gw.gateway.broker.retained(`zephyr2mqtt/dev1/${k}`) !== undefined,
    );
    expect(stored.length).toBeLessThanOrEqual(limit);
    expect(stored).toContain(`k${MESSAGES - 1}`);
    // Logged rate-limited (5 a minute per device), with the setting to raise.
    const evictions = warnings.filter((w) => w.setting === 'api.max_state_properties');
    expect(evictions).toHaveLength(5);
    expect(evictions[0]).toMatchObject({ device: 'dev1', dropped: 1 });
    expect(evictions[0]?.msg).toContain('raise api.max_state_properties');
    // Every property ever reported (temperature, the fresh keys, done) but the ones kept.
    expect(await metric('zephyr2mqtt_state_properties_evicted_total{adapter="test"}')).toBe(MESSAGES + 2 - limit);
  });

  it('keeps the state within max_state_bytes, also for text that takes more bytes than characters', async () => {
    const maxBytes = 2048;
    const { gw, ctx, state, client } = await start({ max_state_bytes: maxBytes });
    const topics = await followPropertyTopics(client);
    const value = 'é'.repeat(100); // 200 bytes in UTF-8, 100 characters
    await feed(topics, MESSAGES, (i) => {
      expect(ctx.telemetry('dev1', { [`k${i}`]: value })).toBe('accepted');
      const s = state();
      expect(Buffer.byteLength(JSON.stringify(s))).toBeLessThanOrEqual(maxBytes);
      expect(s[`k${i}`]).toBe(value);
    });
    // Nine entries of about 210 bytes fit in 2048 bytes with last_seen, ten do not.
    expect(Object.keys(state()).length - 1).toBe(9);
    const done = topics.published('done');
    ctx.telemetry('dev1', { done: 1 });
    await done;
    expect(topics.live().length).toBeLessThanOrEqual(10);
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1')?.length).toBeLessThanOrEqual(maxBytes);
  });

  it('trims the states over a limit a reload lowered at once, clearing the dropped property topics', async () => {
    const { gw, ctx, state, metric, client } = await start({ max_state_properties: 40 });
    const topics = await followPropertyTopics(client);
    const last = topics.published('k29');
    for (let i = 0; i < 30; i++) expect(ctx.telemetry('dev1', { [`k${i}`]: i })).toBe('accepted');
    await last;
    expect(Object.keys(state())).toHaveLength(31);

    const trimmed = gw.waitForMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.k0 === undefined);
    const cleared = topics.published('k19');
    const text = await readFile(gw.configPath, 'utf8');
    await writeFile(gw.configPath, text.replace('max_state_properties: 40', 'max_state_properties: 10'));
    expect(await gw.request(client, 'config/reload')).toMatchObject({ status: 'ok' });
    // The newest ten, now, in the retained state and the broker's store; the other property topics cleared.
    const kept = Array.from({ length: 10 }, (_, j) => `k${20 + j}`);
    expect(Object.keys(await trimmed).filter((k) => k !== 'last_seen')).toEqual(kept);
    expect(Object.keys(state()).filter((k) => k !== 'last_seen')).toEqual(kept);
    await cleared;
    expect(topics.live().sort()).toEqual(kept.map((k) => `zephyr2mqtt/dev1/${k}`).sort());
    expect(await metric('zephyr2mqtt_state_properties_evicted_total{adapter="test"}')).toBe(20);
  });

  it('refuses a message over a limit on its own: the state stays as it was and nothing is published', async () => {
    const { gw, ctx, state, metric, warnings, client } = await start({
      max_state_properties: 8,
      max_state_bytes: 1024,
    });
    const seen: string[] = [];
    client.on('message', (topic, payload) => {
      if (topic !== 'zephyr2mqtt/dev1/availability') seen.push(`${topic} ${payload.toString('utf8').slice(0, 20)}`);
    });
    await client.subscribeAsync(['zephyr2mqtt/dev1', 'zephyr2mqtt/dev1/#'], { qos: 1 });
    // Subscribed before the telemetry: a subscription made after it would bring the retained `a` once more.
    const first = await gw.expectMessage(client, 'zephyr2mqtt/dev1/a');
    expect(ctx.telemetry('dev1', { a: 1 })).toBe('accepted');
    await first.message; // after the state it came with (one publisher, in order)
    const before = state();
    seen.length = 0;

    const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`p${i}`, i]));
    expect(ctx.telemetry('dev1', nine)).toBe('state_limit');
    expect(ctx.telemetry('dev1', { big: 'x'.repeat(1024) })).toBe('state_limit');
    expect(state()).toBe(before);
    expect(gw.gateway.devices.get('dev1')!.lastSeen?.toISOString()).toBe(before.last_seen);

    // Exactly at the limit is accepted, the older `a` dropped for it; this is the first message published since.
    const eight = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`p${i}`, i]));
    const accepted = gw.waitForMessage<State>(client, 'zephyr2mqtt/dev1', (m) => m.p7 === 7);
    expect(ctx.telemetry('dev1', eight)).toBe('accepted');
    const published = await accepted;
    expect(published.a).toBeUndefined();
    // Nothing of the refused messages: the retained topic of `a` cleared, then the accepted state.
    expect(seen.slice(0, 2)).toEqual(['zephyr2mqtt/dev1/a ', expect.stringMatching(/^zephyr2mqtt\/dev1 \{/)]);
    expect(gw.gateway.broker.retained('zephyr2mqtt/dev1/a')).toBeUndefined();
    expect(await metric('zephyr2mqtt_decode_errors_total{adapter="test",reason="state_limit"}')).toBe(2);
    expect(warnings.filter((w) => w.msg.includes('refused')).map((w) => w.setting)).toEqual([
      'api.max_state_properties',
      'api.max_state_bytes',
    ]);
  });
});

describe('fitState', () => {
  /** A small deterministic PRNG: the same states on every run. */
  function rng(seed: number): () => number {
    let x = seed;
    return () => {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      return x / 2 ** 31;
    };
  }
  const samples = [1, 'text', 'é€😀'.repeat(20), undefined, { nested: [1, 'ü'] }, null, true, 'x'.repeat(300)];

  it('keeps a "__proto__" property a device sent as a property, not as the trimmed state\'s prototype', () => {
    // What JSON.parse makes of a serial NDJSON line: an own "__proto__" key, kept as one by the merge's spread.
    const values = JSON.parse('{"__proto__":{"polluted":1},"a":1}') as Record<string, unknown>;
    const merged = { k0: 1, k1: 2, ...values, last_seen: 'now' };
    const result = fitState(merged, values, JSON.stringify(merged), { maxProperties: 2, maxBytes: 1024 });
    if (!result.ok) throw new Error('refused');
    expect(result.evicted).toEqual(['k0', 'k1']);
    expect(Object.hasOwn(result.state, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(result.state)).toBe(Object.prototype);
    expect(result.text).toContain('"__proto__":{"polluted":1}');
  });

  it('fits both limits or refuses only what is over on its own, dropping the oldest keys the message lacks', () => {
    const rand = rng(7);
    const pick = () => samples[Math.floor(rand() * samples.length)];
    const limits = { maxProperties: 12, maxBytes: 1024 };
    let fitted = 0;
    let refused = 0;
    for (let round = 0; round < 500; round++) {
      const before: Record<string, unknown> = { last_seen: '2026-12-06T17:00:00.000Z' };
      for (let i = Math.floor(rand() * 20); i > 0; i--) before[`old${i}é`] = pick();
      const values: Record<string, unknown> = {};
      for (let i = Math.floor(rand() * 14); i > 0; i--) values[`new${i}`] = pick();
      const merged: Record<string, unknown> = { ...before, ...values, last_seen: before.last_seen };
      const text = JSON.stringify(merged);
      if (withinStateLimits(merged, text, limits)) continue;
      const result = fitState(merged, values, text, limits);
      const alone = JSON.stringify(
        Object.fromEntries(Object.entries(merged).filter(([k]) => k in values || k === 'last_seen')),
      );
      if (!result.ok) {
        refused++;
        expect(Object.keys(values).length > limits.maxProperties || Buffer.byteLength(alone) > limits.maxBytes).toBe(
          true,
        );
        continue;
      }
      fitted++;
      expect(result.text).toBe(JSON.stringify(result.state));
      expect(Buffer.byteLength(result.text)).toBeLessThanOrEqual(limits.maxBytes);
      expect(Object.keys(result.state).length - 1).toBeLessThanOrEqual(limits.maxProperties);
      for (const [k, v] of Object.entries(values)) expect(result.state[k]).toBe(v);
      // The dropped keys are the oldest of the state before, in order, and only as many as needed.
      const oldKeys = Object.keys(before).filter((k) => k !== 'last_seen' && !(k in values));
      expect(result.evicted).toEqual(oldKeys.slice(0, result.evicted.length));
      const oneFewer = { ...result.state, [result.evicted.at(-1)!]: merged[result.evicted.at(-1)!] };
      expect(withinStateLimits(oneFewer, JSON.stringify(oneFewer), limits)).toBe(false);
    }
    expect(fitted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(10);
  });
});

describe('state limit settings', () => {
  const parse = (api: string) => parseConfigText(`api: ${api}\n`, 'test.yaml', {});

  it('default to 512 properties and 128 KiB, and refuse values outside their ranges', () => {
    expect(parse('{}').api).toMatchObject({ max_state_properties: 512, max_state_bytes: 131_072 });
    expect(parse('{max_state_properties: 8, max_state_bytes: 1024}').api).toMatchObject({
      max_state_properties: 8,
      max_state_bytes: 1024,
    });
    for (const bad of [
      '{max_state_properties: 7}',
      '{max_state_properties: 100001}',
      '{max_state_properties: 10.5}',
      '{max_state_bytes: 1023}',
      '{max_state_bytes: 16777217}',
    ])
      expect(() => parse(bad), bad).toThrow(ConfigError);
  });
});
