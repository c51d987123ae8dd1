import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokerStartError } from '../../gateway/broker/broker.js';
import { hashPassword } from '../../gateway/broker/password.js';
import { endClients, refusedCode, startTestBroker, type TestBroker } from './helpers.js';

let aliceHash = '';
beforeAll(async () => {
  aliceHash = await hashPassword('wonderland', { N: 1024 });
});

describe('broker authentication', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('accepts a user with the right password and refuses wrong ones with code 4', async () => {
    tb = await startTestBroker({ allow_anonymous: false, users: [{ username: 'alice', password_hash: aliceHash }] });
    const ok = await tb.connect({ username: 'alice', password: 'wonderland' });
    expect(ok.connected).toBe(true);
    expect(await refusedCode(tb.url(), { username: 'alice', password: 'nope' })).toBe(4);
    expect(await refusedCode(tb.url(), { username: 'bob', password: 'wonderland' })).toBe(4);
    expect(await refusedCode(tb.url(), { username: 'alice' })).toBe(4);
    expect(tb.log.lines.filter((l) => l.msg === 'MQTT login refused')).toHaveLength(3);
  });

  it('refuses anonymous clients with code 5 unless allow_anonymous is on', async () => {
    tb = await startTestBroker({ allow_anonymous: false, users: [{ username: 'alice', password_hash: aliceHash }] });
    expect(await refusedCode(tb.url(), {})).toBe(5);
    await tb.dispose();
    tb = await startTestBroker({ allow_anonymous: true, users: [{ username: 'alice', password_hash: aliceHash }] });
    const anon = await tb.connect();
    expect(anon.connected).toBe(true);
    // Credentials that are wrong still fail when anonymous access is on.
    expect(await refusedCode(tb.url(), { username: 'alice', password: 'bad' })).toBe(4);
  });

  it('refuses to start with no users and anonymous access off', async () => {
    await expect(startTestBroker({ allow_anonymous: false, users: [] })).rejects.toThrow(
      /no users are configured and allow_anonymous is false/,
    );
    await expect(startTestBroker({ allow_anonymous: false, users: [] })).rejects.toBeInstanceOf(BrokerStartError);
  });

  it('refuses to start on a malformed hash or a duplicate user, naming the user', async () => {
    await expect(
      startTestBroker({ users: [{ username: 'eve', password_hash: 'scrypt$7$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==' }] }),
    ).rejects.toThrow('broker.users[0] (eve): password_hash: scrypt N must be a power of two');
    await expect(
      startTestBroker({
        users: [
          { username: 'alice', password_hash: aliceHash },
          { username: 'alice', password_hash: aliceHash },
        ],
      }),
    ).rejects.toThrow('broker.users[1]: username "alice" is listed twice');
  });

  it('warns loudly when anonymous access is on and a listener is not on loopback', async () => {
    tb = await startTestBroker({ allow_anonymous: true, listeners: [{ type: 'mqtt', host: '0.0.0.0', port: 0 }] });
    const warning = tb.log.lines.find((l) => l.security === true);
    expect(warning?.level).toBe(40);
    expect(warning?.msg).toMatch(/^SECURITY WARNING: allow_anonymous is true and the mqtt listener on 0\.0\.0\.0:0/);
    await tb.dispose();
    tb = await startTestBroker({ allow_anonymous: true, listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }] });
    expect(tb.log.lines.some((l) => l.security === true)).toBe(false);
  });

  it('refuses the connection through the real gateway too', async () => {
    const { startTestGateway } = await import('../helpers/gateway.js');
    const gw = await startTestGateway({
      broker: { allow_anonymous: false, users: [{ username: 'alice', password_hash: aliceHash }] },
    });
    try {
      expect(await refusedCode(gw.mqttUrl, { username: 'alice', password: 'x' })).toBe(4);
      const client = await gw.connect({ username: 'alice', password: 'wonderland' });
      const state = await gw.waitForMessage<{ state: string }>(client, 'zephyr2mqtt/bridge/state');
      expect(state.state).toBe('online');
    } finally {
      await gw.stop();
    }
  });
});
