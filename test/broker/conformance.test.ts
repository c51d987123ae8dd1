// MQTT 3.1.1 behaviour of the embedded broker, checked against the specification's normative statements.
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  collect,
  connectCollecting,
  endClients,
  rawConnect,
  rawExchange,
  roundTrip,
  startTestBroker,
  type TestBroker,
} from './helpers.js';

describe('MQTT 3.1.1 conformance', () => {
  let tb: TestBroker;
  beforeEach(async () => {
    tb = await startTestBroker({
      allow_anonymous: true,
      anonymous_acl: [
        { allow: 'both', topic: '#' },
        { allow: 'subscribe', topic: '$app/#' },
      ],
    });
  });
  afterEach(async () => {
    await endClients();
    await tb.dispose();
  });

  it('sends retained messages with RETAIN=1 on subscribe and live ones with RETAIN=0 [MQTT-3.3.1-8/9]', async () => {
    const pub = await tb.connect();
    await pub.publishAsync('r/a', 'kept', { qos: 1, retain: true });
    const sub = await tb.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('r/#', { qos: 1 });
    await seen.waitFor(1);
    await pub.publishAsync('r/a', 'live', { qos: 1, retain: true });
    await seen.waitFor(2);
    expect(seen.messages).toEqual([
      { topic: 'r/a', payload: 'kept', qos: 1, retain: true },
      { topic: 'r/a', payload: 'live', qos: 1, retain: false },
    ]);
  });

  it('clears a retained message with an empty retained payload [MQTT-3.3.1-10/11]', async () => {
    const pub = await tb.connect();
    await pub.publishAsync('r/clear', 'x', { qos: 1, retain: true });
    await pub.publishAsync('r/clear', '', { qos: 1, retain: true });
    const sub = await tb.connect();
    const seen = collect(sub);
    await sub.subscribeAsync('r/#', { qos: 1 });
    await roundTrip(sub, 'sync/clear');
    expect(seen.messages.map((m) => m.topic)).toEqual(['sync/clear']);
  });

  it('downgrades delivery to the QoS granted to the matching subscription, wildcards included [MQTT-3.8.4-6]', async () => {
    const sub = await tb.connect();
    await sub.subscribeAsync({ 'q/+': { qos: 1 }, 'z/exact': { qos: 0 } });
    const seen = collect(sub);
    const pub = await tb.connect();
    await pub.publishAsync('q/x', 'two', { qos: 2 });
    await pub.publishAsync('z/exact', 'one', { qos: 1 });
    await pub.publishAsync('q/y', 'zero', { qos: 0 });
    await seen.waitFor(3);
    const qosByPayload = Object.fromEntries(seen.messages.map((m) => [m.payload, m.qos]));
    expect(qosByPayload).toEqual({ two: 1, one: 0, zero: 0 });
  });

  it('delivers at the highest QoS among overlapping subscriptions', async () => {
    const sub = await tb.connect();
    await sub.subscribeAsync({ 'o/#': { qos: 0 }, 'o/+': { qos: 2 } });
    const seen = collect(sub);
    const pub = await tb.connect();
    await pub.publishAsync('o/x', 'p', { qos: 2 });
    await seen.waitFor(1);
    await roundTrip(sub, 'o/sync');
    // One copy, at the maximum QoS of the matching subscriptions [MQTT-3.3.5-1].
    expect(seen.messages.map((m) => [m.payload, m.qos])).toEqual([
      ['p', 2],
      ['sync', 1],
    ]);
  });

  it('loses no QoS 1 message that a later QoS 0 message overtakes on its way to a QoS 0 subscriber', async () => {
    // aedes alone drops `avail` here: it is stored before routing and arrives after `devices`, whose broker
    // counter is higher, so aedes' per-client dedupe takes it for a duplicate.
    const sub = await tb.connect();
    await sub.subscribeAsync('g/#', { qos: 0 });
    const seen = collect(sub);
    void tb.broker.publish('g/state', 'state', { qos: 0, retain: true });
    void tb.broker.publish('g/avail', 'avail', { qos: 1, retain: true });
    void tb.broker.publish('g/devices', 'devices', { qos: 0, retain: true });
    await seen.waitFor(3);
    expect(seen.messages.map((m) => m.payload).sort()).toEqual(['avail', 'devices', 'state']);
  });

  it('still delivers one copy for overlapping QoS 0 subscriptions', async () => {
    const sub = await tb.connect();
    await sub.subscribeAsync({ 'd/#': { qos: 0 }, 'd/+': { qos: 0 } });
    const seen = collect(sub);
    const pub = await tb.connect();
    await pub.publishAsync('d/x', 'once', { qos: 0 });
    await pub.publishAsync('d/y', 'twice?', { qos: 1 });
    await roundTrip(sub, 'd/sync');
    expect(seen.messages.map((m) => m.payload)).toEqual(['once', 'twice?', 'sync']);
  });

  it('never matches $-topics with a leading wildcard [MQTT-4.7.2-1]', async () => {
    const wild = await tb.connect();
    await wild.subscribeAsync({ '#': { qos: 0 }, '+/status': { qos: 0 } });
    const wildSeen = collect(wild);
    const dollar = await tb.connect();
    await dollar.subscribeAsync('$app/#', { qos: 0 });
    const dollarSeen = collect(dollar);
    await tb.broker.publish('$app/status', 'hidden', { qos: 0 });
    await dollarSeen.waitFor(1);
    await roundTrip(wild, 'sync/dollar');
    expect(wildSeen.messages.map((m) => m.topic)).toEqual(['sync/dollar']);
    expect(dollarSeen.messages[0]?.topic).toBe('$app/status');
  });

  it('never sends a retained $-topic to a subscription with a leading wildcard [MQTT-4.7.2-1]', async () => {
    await tb.broker.publish('$app/state', 'kept', { qos: 1, retain: true });
    await tb.broker.publish('app/state', 'kept', { qos: 1, retain: true });
    const { client: wild, seen: wildSeen } = await connectCollecting(tb.url(), {});
    await wild.subscribeAsync({ '#': { qos: 1 }, '+/state': { qos: 1 } });
    await roundTrip(wild, 'sync/retained');
    // Each new subscription gets the retained messages it matches [MQTT-3.3.1-6]: app/state once per filter.
    expect(new Set(wildSeen.messages.map((m) => `${m.topic} ${m.retain}`))).toEqual(
      new Set(['app/state true', 'sync/retained false']),
    );
    const { client: dollar, seen: dollarSeen } = await connectCollecting(tb.url(), {});
    await dollar.subscribeAsync('$app/#', { qos: 1 });
    await dollarSeen.waitFor(1);
    expect(dollarSeen.messages.map((m) => [m.topic, m.payload, m.retain])).toEqual([['$app/state', 'kept', true]]);
  });

  it('publishes the will on an abnormal disconnect only [MQTT-3.1.2-8/10]', async () => {
    const watcher = await tb.connect();
    await watcher.subscribeAsync('will/#', { qos: 1 });
    const seen = collect(watcher);
    const polite = await tb.connect({
      will: { topic: 'will/polite', payload: Buffer.from('x'), qos: 1, retain: false },
    });
    await polite.endAsync();
    const crashed = await tb.connect({
      will: { topic: 'will/crash', payload: Buffer.from('bye'), qos: 1, retain: true },
    });
    crashed.stream.destroy();
    const [msg] = await seen.waitFor(1);
    expect(msg).toMatchObject({ topic: 'will/crash', payload: 'bye' });
    // A retained will is stored like any retained message.
    const late = await tb.connect();
    const lateSeen = collect(late);
    await late.subscribeAsync('will/#');
    await roundTrip(late, 'sync/will');
    expect(lateSeen.messages.map((m) => [m.topic, m.retain])).toEqual([
      ['will/crash', true],
      ['sync/will', false],
    ]);
    expect(seen.messages.map((m) => m.topic)).not.toContain('will/polite');
  });

  it('sets session present only when a stored session resumes [MQTT-3.2.2-1..3]', async () => {
    const opts = { clientId: 'persist-1', clean: false } as const;
    const first = await mqtt.connectAsync(tb.url(), { ...opts, reconnectPeriod: 0 });
    const firstConnack = await connackOf(first);
    await first.subscribeAsync('s/#', { qos: 1 });
    await first.endAsync();
    const second = await mqtt.connectAsync(tb.url(), { ...opts, reconnectPeriod: 0 });
    expect(firstConnack).toBe(false);
    expect(await connackOf(second)).toBe(true);
    await second.endAsync();
    const clean = await mqtt.connectAsync(tb.url(), { clientId: 'persist-1', clean: true, reconnectPeriod: 0 });
    expect(await connackOf(clean)).toBe(false);
    await clean.endAsync();
  });

  it('queues QoS 1 messages for an offline persistent session and delivers them on reconnect', async () => {
    const opts = { clientId: 'offline-1', clean: false, reconnectPeriod: 0 } as const;
    const sub = await mqtt.connectAsync(tb.url(), opts);
    await sub.subscribeAsync('queue/#', { qos: 1 });
    await sub.endAsync();
    const pub = await tb.connect();
    for (const n of [1, 2, 3]) await pub.publishAsync('queue/n', String(n), { qos: 1 });
    await pub.publishAsync('queue/n', 'qos0-is-not-queued', { qos: 0 });
    const { client: back, seen } = await connectCollecting(tb.url(), opts);
    await seen.waitFor(3);
    await roundTrip(back, 'queue/sync');
    expect(seen.messages.map((m) => m.payload)).toEqual(['1', '2', '3', 'sync']);
  });

  it('follows the client identifier rules [MQTT-3.1.3-6/8]', async () => {
    // CONNACK 0x02 (identifier rejected), then the broker closes the connection [MQTT-3.1.3-8]
    const port = tb.broker.addresses()[0]?.port ?? 0;
    const rejected = await rawExchange(port, [rawConnect('', false)]);
    expect([...rejected.data]).toEqual([0x20, 0x02, 0x00, 0x02]);
    expect(rejected.closed).toBe(true);
    const generated = await tb.connect({ clientId: '', clean: true });
    expect(generated.connected).toBe(true);
    const long = await tb.connect({ clientId: `device-${'x'.repeat(120)}` });
    expect(long.connected).toBe(true);
  });
});

function connackOf(client: mqtt.MqttClient): Promise<boolean> {
  // mqtt.js keeps the CONNACK's session present flag on the client after connecting.
  return Promise.resolve(
    Boolean((client as unknown as { connackPacket?: { sessionPresent?: boolean } }).connackPacket?.sessionPresent),
  );
}
