// [MQTT-3.3.1-9]: a message sent because it matches a subscription has RETAIN 0, whatever the publisher set;
// only retained messages sent on SUBSCRIBE carry RETAIN 1. Mosquitto does the same for queued messages.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, connectCollecting, endClients, roundTrip, startTestBroker, type TestBroker } from './helpers.js';

const KEEPER = { clientId: 'retain-keeper', clean: false, reconnectPeriod: 0 } as const;

describe('RETAIN on messages delivered to a persistent session', () => {
  let dir: string;
  let tb: TestBroker | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-queued-retain-'));
  });
  afterEach(async () => {
    await endClients();
    await tb?.stop();
    tb = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  async function leaveSession(url: string): Promise<void> {
    const keeper = await mqtt.connectAsync(url, KEEPER);
    await keeper.subscribeAsync('q/#', { qos: 1 });
    await keeper.endAsync();
  }

  async function publishWhileAway(): Promise<void> {
    const pub = await tb!.connect();
    await pub.publishAsync('q/retained', 'r', { qos: 1, retain: true });
    await pub.publishAsync('q/plain', 'p', { qos: 1 });
    await roundTrip(pub, 'sync/pub');
  }

  async function resumeAndCollect(url: string) {
    const { client: keeper, seen } = await connectCollecting(url, KEEPER);
    const messages = await seen.waitFor(2);
    await keeper.endAsync();
    return messages.map((m) => [m.topic, m.retain]).sort();
  }

  it('sends offline-queued messages with RETAIN 0 when the session resumes', async () => {
    tb = await startTestBroker({}, dir);
    await leaveSession(tb.url());
    await publishWhileAway();
    expect(await resumeAndCollect(tb.url())).toEqual([
      ['q/plain', false],
      ['q/retained', false],
    ]);
  });

  it('sends them with RETAIN 0 after a broker restart (replayed from the journal)', async () => {
    tb = await startTestBroker({}, dir);
    await leaveSession(tb.url());
    await publishWhileAway();
    await endClients();
    await tb.stop();
    tb = await startTestBroker({}, dir);
    expect(await resumeAndCollect(tb.url())).toEqual([
      ['q/plain', false],
      ['q/retained', false],
    ]);
  });

  it('sends live messages with RETAIN 0 and the retained one on SUBSCRIBE with RETAIN 1', async () => {
    tb = await startTestBroker({}, dir);
    const keeper = await mqtt.connectAsync(tb.url(), KEEPER);
    const seen = collect(keeper);
    await keeper.subscribeAsync('q/#', { qos: 1 });
    const pub = await tb.connect();
    await pub.publishAsync('q/live', 'l', { qos: 1, retain: true });
    expect((await seen.waitFor(1))[0]).toMatchObject({ topic: 'q/live', retain: false });
    const late = await tb.connect({ clientId: 'late', clean: false });
    const lateSeen = collect(late);
    await late.subscribeAsync('q/#', { qos: 1 });
    expect((await lateSeen.waitFor(1))[0]).toMatchObject({ topic: 'q/live', retain: true });
    await keeper.endAsync();
  });
});
