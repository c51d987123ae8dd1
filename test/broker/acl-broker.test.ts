import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { collect, endClients, roundTrip, startTestBroker, subackCodes, type TestBroker } from './helpers.js';

let hash = '';
beforeAll(async () => {
  hash = await hashPassword('pw', { N: 1024 });
});

describe('broker ACLs', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  async function start(): Promise<TestBroker> {
    return startTestBroker({
      allow_anonymous: true,
      anonymous_acl: [{ allow: 'subscribe', topic: 'public/#' }],
      users: [
        { username: 'admin', password_hash: hash, acl: [{ allow: 'both', topic: '#' }] },
        {
          username: 'sensor',
          password_hash: hash,
          acl: [
            { allow: 'publish', topic: 'sensors/%u/#' },
            { allow: 'both', topic: 'clients/%c/#' },
            { allow: 'subscribe', topic: 'cmd/+' },
          ],
        },
      ],
    });
  }

  it('acknowledges and drops a denied publish; the client stays connected', async () => {
    tb = await start();
    const admin = await tb.connect({ username: 'admin', password: 'pw' });
    await admin.subscribeAsync('#', { qos: 1 });
    const seen = collect(admin);
    const sensor = await tb.connect({ username: 'sensor', password: 'pw', clientId: 'node-7' });
    // QoS 1: the PUBACK arrives (publishAsync resolves) although the message is dropped.
    await sensor.publishAsync('forbidden/topic', 'x', { qos: 1 });
    await sensor.publishAsync('forbidden/retained', 'x', { qos: 2, retain: true });
    await sensor.publishAsync('sensors/sensor/temp', '21', { qos: 1 });
    await sensor.publishAsync('clients/node-7/hello', 'hi', { qos: 0 });
    await sensor.publishAsync('sensors/other/temp', 'spoof', { qos: 1 });
    await roundTrip(sensor, 'clients/node-7/sync');
    await seen.waitFor(3);
    expect(sensor.connected).toBe(true);
    expect(seen.messages.map((m) => m.topic)).toEqual([
      'sensors/sensor/temp',
      'clients/node-7/hello',
      'clients/node-7/sync',
    ]);
    expect(tb.log.lines.filter((l) => l.msg === 'publish denied by ACL, message dropped').map((l) => l.topic)).toEqual([
      'forbidden/topic',
      'forbidden/retained',
      'sensors/other/temp',
    ]);
    // The denied retained publish was not stored either.
    const late = await tb.connect({ username: 'admin', password: 'pw' });
    const lateSeen = collect(late);
    await late.subscribeAsync('forbidden/#');
    await roundTrip(late, 'sync/late');
    expect(lateSeen.messages.map((m) => m.topic)).toEqual(['sync/late']);
  });

  it('answers a denied subscription with 0x80 and grants the allowed ones in the same SUBSCRIBE', async () => {
    tb = await start();
    const sensor = await tb.connect({ username: 'sensor', password: 'pw', clientId: 'node-7' });
    const granted = await subackCodes(sensor, {
      'cmd/+': { qos: 1 },
      'cmd/#': { qos: 1 },
      'sensors/sensor/#': { qos: 0 },
      'clients/node-7/#': { qos: 1 },
      'clients/node-8/#': { qos: 1 },
      '#': { qos: 0 },
    });
    expect(granted).toEqual([
      ['cmd/+', 1],
      ['cmd/#', 128],
      ['sensors/sensor/#', 128],
      ['clients/node-7/#', 1],
      ['clients/node-8/#', 128],
      ['#', 128],
    ]);
    expect(tb.log.lines.filter((l) => l.msg === 'subscribe denied by ACL')).toHaveLength(4);
  });

  it('applies anonymous_acl to clients without credentials', async () => {
    tb = await start();
    const anon = await tb.connect();
    const granted = await subackCodes(anon, { 'public/#': { qos: 0 }, 'private/#': { qos: 0 } });
    expect(granted).toEqual([
      ['public/#', 0],
      ['private/#', 128],
    ]);
    const seen = collect(anon);
    await anon.publishAsync('public/x', 'anon', { qos: 1 });
    const admin = await tb.connect({ username: 'admin', password: 'pw' });
    await admin.publishAsync('public/y', 'from admin', { qos: 1 });
    const [msg] = await seen.waitFor(1);
    expect(msg).toMatchObject({ topic: 'public/y', payload: 'from admin' });
  });

  it('lets the gateway itself publish anywhere regardless of ACLs', async () => {
    tb = await start();
    const sensor = await tb.connect({ username: 'sensor', password: 'pw', clientId: 'node-7' });
    await sensor.subscribeAsync('cmd/+', { qos: 1 });
    const seen = collect(sensor);
    await tb.broker.publish('cmd/reboot', 'now', { qos: 1 });
    const [msg] = await seen.waitFor(1);
    expect(msg).toMatchObject({ topic: 'cmd/reboot', payload: 'now' });
  });

  it('does not route a denied will message', async () => {
    tb = await start();
    const admin = await tb.connect({ username: 'admin', password: 'pw' });
    await admin.subscribeAsync('#', { qos: 1 });
    const seen = collect(admin);
    const sensor = await tb.connect({
      username: 'sensor',
      password: 'pw',
      clientId: 'node-9',
      will: { topic: 'alarm/everyone', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    const allowed = await tb.connect({
      username: 'sensor',
      password: 'pw',
      clientId: 'node-10',
      will: { topic: 'clients/node-10/status', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    sensor.stream.destroy();
    allowed.stream.destroy();
    const [msg] = await seen.waitFor(1);
    await roundTrip(admin, 'sync/will');
    expect(msg?.topic).toBe('clients/node-10/status');
    expect(seen.messages.map((m) => m.topic)).not.toContain('alarm/everyone');
  });
});
