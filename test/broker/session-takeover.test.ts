// A client id reused by another user: the persistent session it finds must not hand over what the previous owner
// was allowed to read.
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { type BrokerInput, collect, roundTrip, startTestBroker, type TestBroker } from './helpers.js';

let hash = '';
beforeAll(async () => {
  hash = await hashPassword('pw', { N: 1024 });
});

const SHARED = { clientId: 'shared', clean: false } as const;

describe('persistent session taken over by another user', () => {
  let tb: TestBroker | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => {})));
    await tb?.dispose();
    tb = undefined;
  });

  const input = (): BrokerInput => ({
    allow_anonymous: false,
    users: [
      { username: 'admin', password_hash: hash, acl: [{ allow: 'both', topic: '#' }] },
      { username: 'viewer', password_hash: hash, acl: [{ allow: 'both', topic: 'zephyr2mqtt/kitchen/#' }] },
    ],
  });

  /** Connects with a message collector attached before CONNACK, so queued messages sent with it are not missed. */
  async function connect(opts: IClientOptions) {
    const client = mqtt.connect(tb!.url(), { reconnectPeriod: 0, password: 'pw', ...opts });
    clients.push(client);
    const seen = collect(client);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    return { client, seen, sessionPresent: connack.sessionPresent };
  }

  /** The admin's persistent session holds QoS 1 messages on a topic the viewer may read and one it may not. */
  async function queueUnderAdmin(): Promise<void> {
    const admin = await connect({ ...SHARED, username: 'admin' });
    await admin.client.subscribeAsync('zephyr2mqtt/#', { qos: 1 });
    await admin.client.endAsync();
    const publisher = await connect({ username: 'admin', clientId: 'publisher' });
    await publisher.client.publishAsync('zephyr2mqtt/secret/note', 'QUEUED-SECRET', { qos: 1 });
    await publisher.client.publishAsync('zephyr2mqtt/kitchen/note', 'queued-kitchen', { qos: 1 });
    await publisher.client.endAsync();
  }

  it('keeps who owns a session across a restart', async () => {
    tb = await startTestBroker(input());
    await queueUnderAdmin();
    // Twice: the owners file is read at start and written again at stop.
    for (let restart = 0; restart < 2; restart++) {
      await tb.stop();
      tb = await startTestBroker(input(), tb.dataDir);
    }
    const viewer = await connect({ ...SHARED, username: 'viewer' });
    expect(viewer.sessionPresent).toBe(false);
    await roundTrip(viewer.client, 'zephyr2mqtt/kitchen/sync');
    expect(viewer.seen.messages.map((m) => m.payload)).toEqual(['sync']);
    await viewer.client.endAsync();
    // The new owner is stored too: the admin now finds its old session gone.
    await tb.stop();
    tb = await startTestBroker(input(), tb.dataDir);
    const admin = await connect({ ...SHARED, username: 'admin' });
    expect(admin.sessionPresent).toBe(false);
    expect(tb.log.lines.filter((l) => l.msg === 'persistent session of another user discarded')).toHaveLength(1);
  });

  it('delivers queued messages only within the ACL of the user who resumes the session', async () => {
    tb = await startTestBroker(input());
    await queueUnderAdmin();
    // Data from before owners were recorded: the delivery check is what stops the leak.
    await tb.stop();
    const ownersFile = join(tb.dataDir, 'broker', 'session-owners.json');
    // The admin's session is owned; the publisher's connection was clean and left none.
    expect(JSON.parse(readFileSync(ownersFile, 'utf8'))).toEqual({ owners: { shared: 'admin' } });
    rmSync(ownersFile);
    tb = await startTestBroker(input(), tb.dataDir);
    const viewer = await connect({ ...SHARED, username: 'viewer' });
    expect(viewer.sessionPresent).toBe(true);
    await roundTrip(viewer.client, 'zephyr2mqtt/kitchen/sync');
    expect(viewer.seen.messages.map((m) => m.payload)).toEqual(['queued-kitchen', 'sync']);
  });

  it('leaves a journal an older version reads whole after a clean stop, and reads owners an older journal holds', async () => {
    tb = await startTestBroker(input());
    await queueUnderAdmin();
    const viewer = await connect({ ...SHARED, username: 'viewer' }); // takes the session over: S, Q, I records
    await viewer.client.endAsync();
    await tb.stop();
    const journal = join(tb.dataDir, 'broker', 'journal.jsonl');
    const kinds = new Set(
      readFileSync(journal, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { o: string }).o),
    );
    // Snapshot records only (retained, subscriptions, queued, inbound QoS 2): what every earlier version reads.
    expect([...kinds].filter((o) => !['r', 's', 'q', 'i'].includes(o))).toEqual([]);

    // Owner records a development version journaled are read, and move to the owners file.
    rmSync(join(tb.dataDir, 'broker', 'session-owners.json'));
    appendFileSync(journal, `${JSON.stringify({ o: 'w', c: 'shared', u: 'admin' })}\n`);
    tb = await startTestBroker(input(), tb.dataDir);
    const intruder = await connect({ ...SHARED, username: 'viewer' });
    expect(intruder.sessionPresent).toBe(false);
    expect(tb.log.lines.filter((l) => l.msg === 'persistent session of another user discarded')).toHaveLength(1);
  });

  it("starts another user's persistent session empty, and keeps the new owner's", async () => {
    tb = await startTestBroker(input());
    await queueUnderAdmin();
    const viewer = await connect({ ...SHARED, username: 'viewer' });
    expect(viewer.sessionPresent).toBe(false);
    await roundTrip(viewer.client, 'zephyr2mqtt/kitchen/sync');
    expect(viewer.seen.messages.map((m) => m.payload)).toEqual(['sync']);
    expect(tb.log.lines.filter((l) => l.msg === 'persistent session of another user discarded')).toHaveLength(1);

    await viewer.client.endAsync();
    const again = await connect({ ...SHARED, username: 'viewer' });
    expect(again.sessionPresent).toBe(true);
  });
});
