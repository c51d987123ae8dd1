import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { collect, connectFailure, endClients, startTestBroker, type TestBroker } from './helpers.js';
import { makeTestPki, type TestPki } from './tls-fixtures.js';

let pki: TestPki;
let hash = '';
beforeAll(async () => {
  pki = await makeTestPki();
  hash = await hashPassword('pw', { N: 1024 });
});
afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

describe('broker listeners', () => {
  let tb: TestBroker | undefined;
  afterEach(async () => {
    await endClients();
    await tb?.dispose();
    tb = undefined;
  });

  it('reports the real ports of every listener bound to port 0', async () => {
    tb = await startTestBroker({
      listeners: [
        { type: 'mqtt', host: '127.0.0.1', port: 0 },
        { type: 'ws', host: '127.0.0.1', port: 0 },
        { type: 'mqtts', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey },
      ],
    });
    const addrs = tb.broker.addresses();
    expect(addrs.map((a) => a.type)).toEqual(['mqtt', 'ws', 'mqtts']);
    for (const a of addrs) {
      expect(a.host).toBe('127.0.0.1');
      expect(a.port).toBeGreaterThan(0);
    }
    expect(new Set(addrs.map((a) => a.port)).size).toBe(3);
  });

  it('carries MQTT over TLS with authentication, verified against the test CA', async () => {
    tb = await startTestBroker({
      allow_anonymous: false,
      users: [{ username: 'u', password_hash: hash }],
      listeners: [{ type: 'mqtts', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey }],
    });
    const ca = readFileSync(pki.caCert);
    const client = await tb.connect({ username: 'u', password: 'pw', ca, rejectUnauthorized: true }, 'mqtts');
    await client.subscribeAsync('tls/#', { qos: 1 });
    const seen = collect(client);
    await client.publishAsync('tls/x', 'secure', { qos: 1 });
    expect((await seen.waitFor(1))[0]?.payload).toBe('secure');
    // A client that does not trust the server's CA refuses the handshake.
    const untrusted = { username: 'u', password: 'pw', ca: readFileSync(pki.otherCaCert) };
    expect(await connectFailure(tb.url('mqtts'), untrusted)).toMatch(/certificate|self.signed|verify/i);
  });

  it('requires a client certificate from the configured CA for mutual TLS', async () => {
    tb = await startTestBroker({
      listeners: [
        { type: 'mqtts', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
      ],
    });
    const base = { ca: readFileSync(pki.caCert), reconnectPeriod: 0, connectTimeout: 3000 };
    const good = await tb.connect(
      { ...base, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) },
      'mqtts',
    );
    expect(good.connected).toBe(true);
    expect(await connectFailure(tb.url('mqtts'), base)).not.toBe('timeout');
    const wrongCa = { ...base, cert: readFileSync(pki.otherClientCert), key: readFileSync(pki.otherClientKey) };
    expect(await connectFailure(tb.url('mqtts'), wrongCa)).not.toBe('timeout');
    expect(tb.broker.clientCount()).toBe(1);
  });

  it('serves MQTT over WebSocket on the configured path', async () => {
    tb = await startTestBroker({ listeners: [{ type: 'ws', host: '127.0.0.1', port: 0, path: '/custom' }] });
    expect(tb.url('ws')).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/custom$/);
    const client = await tb.connect({}, 'ws');
    await client.subscribeAsync('ws/#', { qos: 1 });
    const seen = collect(client);
    await tb.broker.publish('ws/hello', 'over ws', { qos: 1 });
    expect((await seen.waitFor(1))[0]).toMatchObject({ topic: 'ws/hello', payload: 'over ws' });
    const port = tb.broker.addresses()[0]?.port;
    expect(await connectFailure(`ws://127.0.0.1:${port}/wrong`, {})).not.toBe('timeout');
  });

  it('fails to start with a clear message when a port is taken, releasing what it bound', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(
        startTestBroker({
          listeners: [
            { type: 'ws', host: '127.0.0.1', port: 0 },
            { type: 'mqtt', host: '127.0.0.1', port },
          ],
        }),
      ).rejects.toThrow(`(mqtt) port ${port} on 127.0.0.1: in use by another program`);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it('fails to start with a clear message when a certificate file is missing', async () => {
    await expect(
      startTestBroker({
        listeners: [{ type: 'mqtts', host: '127.0.0.1', port: 0, cert: '/nonexistent/tls.crt', key: pki.serverKey }],
      }),
    ).rejects.toThrow('mqtts listener on port 0: cannot read certificate /nonexistent/tls.crt (ENOENT)');
  });
});
