// WebSocket clients are logged with their address, and their failed logins are rate-limited per address.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { endClients, refusedCode, startTestBroker, type TestBroker } from './helpers.js';

let hash = '';
beforeAll(async () => {
  hash = await hashPassword('pw', { N: 1024 });
});

describe('WebSocket client addresses', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('logs refused WebSocket logins with the remote address', async () => {
    tb = await startTestBroker({
      allow_anonymous: false,
      users: [{ username: 'u', password_hash: hash, acl: [{ allow: 'subscribe', topic: 'ok/#' }] }],
      listeners: [{ type: 'ws', host: '127.0.0.1', port: 0 }],
    });
    expect(await refusedCode(tb.url('ws'), { username: 'u', password: 'wrong' })).toBe(4);
    const client = await tb.connect({ username: 'u', password: 'pw', clientId: 'ws-client' }, 'ws');
    await client.subscribeAsync('denied/#').catch(() => {});
    const refused = tb.log.lines.find((l) => l.msg === 'MQTT login refused');
    expect(refused).toMatchObject({ remote: '127.0.0.1' });
    const denied = tb.log.lines.find((l) => l.msg === 'subscribe denied by ACL');
    expect(denied).toMatchObject({ clientId: 'ws-client', remote: '127.0.0.1' });
  });
});
