// CONNACK Session Present [MQTT-3.2.2-1..3]: 1 whenever the broker holds a session for the client id and the
// client asked to resume it (clean session 0), also a session without subscriptions, as Mosquitto answers.
import mqtt, { type IClientOptions } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { connectFailure, endClients, rawConnect, rawExchange, startTestBroker, type TestBroker } from './helpers.js';

describe('CONNACK session present', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  /** Connects, reads the CONNACK's session present flag and disconnects (DISCONNECT: the session stays). */
  async function sessionPresent(opts: IClientOptions, type: 'mqtt' | 'ws' = 'mqtt'): Promise<boolean> {
    const client = mqtt.connect(tb!.url(type), { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    try {
      const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
        client.once('connect', resolve);
        client.once('error', reject);
      });
      return connack.sessionPresent;
    } finally {
      await client.endAsync();
    }
  }

  it('is 1 for a stored session without subscriptions, and 0 once a clean session discarded it', async () => {
    tb = await startTestBroker();
    const persistent = { clientId: 'no-subs', clean: false, protocolVersion: 4 } as const;
    expect(await sessionPresent(persistent)).toBe(false);
    expect(await sessionPresent(persistent)).toBe(true);
    expect(await sessionPresent({ clientId: 'no-subs', clean: true })).toBe(false);
    expect(await sessionPresent(persistent)).toBe(false);
    expect(await sessionPresent(persistent)).toBe(true);
  });

  it('sends a well-formed CONNACK with the flag set (bytes 20 02 01 00)', async () => {
    tb = await startTestBroker();
    expect(await sessionPresent({ clientId: 'raw', clean: false })).toBe(false);
    const port = tb.broker.addresses()[0]?.port ?? 0;
    const { data } = await rawExchange(port, [rawConnect('raw', false)], 5000, (got) => got.length >= 4);
    expect([...data]).toEqual([0x20, 0x02, 0x01, 0x00]);
  });

  it('stays 0 for MQTT 3.1, whose CONNACK has no such flag (a reserved byte)', async () => {
    tb = await startTestBroker();
    const port = tb.broker.addresses()[0]?.port ?? 0;
    const connack = (got: Buffer) => got.length >= 4;
    await rawExchange(port, [rawConnect31('old-client')], 5000, connack);
    const { data } = await rawExchange(port, [rawConnect31('old-client')], 5000, connack);
    expect([...data]).toEqual([0x20, 0x02, 0x00, 0x00]);
    // The same session over 3.1.1 says it is there.
    expect(await sessionPresent({ clientId: 'old-client', clean: false })).toBe(true);
  });

  it('is 1 over WebSocket too', async () => {
    tb = await startTestBroker({ listeners: [{ type: 'ws', host: '127.0.0.1', port: 0 }] });
    expect(await sessionPresent({ clientId: 'ws-client', clean: false }, 'ws')).toBe(false);
    expect(await sessionPresent({ clientId: 'ws-client', clean: false }, 'ws')).toBe(true);
  });

  it('is 1 for a session without subscriptions stored before a restart', async () => {
    tb = await startTestBroker({ persistence: true });
    expect(await sessionPresent({ clientId: 'kept', clean: false })).toBe(false);
    await tb.stop();
    tb = await startTestBroker({ persistence: true }, tb.dataDir);
    expect(await sessionPresent({ clientId: 'kept', clean: false })).toBe(true);
    expect(await sessionPresent({ clientId: 'never-seen', clean: false })).toBe(false);
  });

  it("is 0 when the stored session was another user's (it starts empty)", async () => {
    const hash = await hashPassword('pw', { N: 1024 });
    tb = await startTestBroker({
      allow_anonymous: false,
      users: ['alice', 'bob'].map((username) => ({ username, password_hash: hash, acl: [] })),
    });
    const as = (username: string) => ({ clientId: 'shared-id', clean: false, username, password: 'pw' });
    expect(await sessionPresent(as('alice'))).toBe(false);
    expect(await sessionPresent(as('bob'))).toBe(false);
    expect(await sessionPresent(as('bob'))).toBe(true);
  });

  it('refuses an MQTT 5 client as documented (return code 1) and keeps no session for it', async () => {
    tb = await startTestBroker();
    const v5 = { clientId: 'v5-client', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } };
    expect(await connectFailure(tb.url(), v5 as IClientOptions)).toMatch(/unacceptable protocol version/i);
    expect(await sessionPresent({ clientId: 'v5-client', clean: false })).toBe(false);
  });
});

/** An MQTT 3.1 CONNECT (protocol name MQIsdp, level 3) with clean session 0. */
function rawConnect31(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([
    Buffer.from([0x00, 0x06, ...Buffer.from('MQIsdp'), 0x03, 0x00, 0x00, 0x3c]),
    Buffer.from([id.length >> 8, id.length & 0xff]),
    id,
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}
