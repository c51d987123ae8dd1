// Mutual TLS towards an aedes upstream with a CA made by the test.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type InProcessUpstream,
  makeBridge,
  observe,
  startLocalBroker,
  startUpstreamAedes,
  startUpstreamAedesWs,
} from './brokers.js';
import { tempDir } from './queue-helpers.js';
import { makeTestPki, type TestPki } from './test-pki.js';

let pkiDir: string;
let pki: TestPki;
let upstream: InProcessUpstream;

/** The upstream's side of mutual TLS: its certificate, and client certificates from the test CA required. */
function mutualTls() {
  return {
    cert: readFileSync(pki.serverCert),
    key: readFileSync(pki.serverKey),
    ca: readFileSync(pki.ca),
    requestCert: true,
    rejectUnauthorized: true,
  };
}

beforeAll(async () => {
  pkiDir = await tempDir('z2m-pki-');
  pki = makeTestPki(pkiDir);
  upstream = await startUpstreamAedes({ tls: mutualTls() });
});
afterAll(async () => {
  await upstream.close();
  await rm(pkiDir, { recursive: true, force: true });
});

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function bridgeWith(tls: Record<string, unknown>, url = upstream.url) {
  const dir = await tempDir();
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const local = await startLocalBroker(dir);
  cleanups.push(() => local.broker.close());
  const b = makeBridge(local.broker, dir, { url, tls });
  cleanups.push(() => b.bridge.stop());
  await b.bridge.start();
  return { ...b, local };
}

describe('upstream TLS', () => {
  it('connects with mutual TLS and forwards', async () => {
    const { bridge, local, waitForEvent } = await bridgeWith({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    await waitForEvent('connected');
    const obs = await observe(upstream.url, 'gw1/#', {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    });
    cleanups.push(() => obs.close());
    await local.broker.publish('zephyr2mqtt/secure', 'hello', { qos: 1 });
    await obs.waitFor((s) => s.some((m) => m.topic === 'gw1/secure' && m.payload === 'hello'));
    expect(bridge.status()).toMatchObject({ connected: true, url: upstream.url });
  });

  it('refuses a server whose certificate another CA signed, and says so', async () => {
    const { bridge, waitForEvent } = await bridgeWith({
      ca: pki.otherCa,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/server certificate is not trusted .*check bridge.tls.ca/);
    expect(bridge.status().connected).toBe(false);
  });

  it('reports a missing client certificate when the upstream requires one', async () => {
    const { bridge, waitForEvent } = await bridgeWith({ ca: pki.ca });
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/bridge\.tls\.cert/);
    expect(bridge.status().connected).toBe(false);
  });

  it('reports an unreadable TLS file with the config key', async () => {
    const { waitForEvent } = await bridgeWith({ ca: '/nonexistent/ca.pem' });
    const err = await waitForEvent('error');
    expect(err.error).toBe('cannot read bridge.tls.ca /nonexistent/ca.pem (ENOENT)');
  });

  it('connects over wss:// with mutual TLS and forwards', async () => {
    const wss = await startUpstreamAedesWs({ tls: mutualTls() });
    cleanups.push(() => wss.close());
    expect(wss.url).toMatch(/^wss:\/\//);
    const { bridge, local, waitForEvent } = await bridgeWith(
      { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
      wss.url,
    );
    await waitForEvent('connected');
    const seen: string[] = [];
    wss.aedes.subscribe(
      'gw1/#',
      (packet, done) => {
        seen.push(`${packet.topic}=${packet.payload.toString()}`);
        done();
      },
      () => {},
    );
    await local.broker.publish('zephyr2mqtt/secure-ws', 'hello', { qos: 1 });
    await vi.waitFor(() => expect(seen).toContain('gw1/secure-ws=hello'), { timeout: 10_000 });
    expect(bridge.status()).toMatchObject({ connected: true, url: wss.url });
  });

  it('refuses a wss:// server whose certificate another CA signed', async () => {
    const wss = await startUpstreamAedesWs({
      tls: { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    });
    cleanups.push(() => wss.close());
    const { bridge, waitForEvent } = await bridgeWith({ ca: pki.otherCa }, wss.url);
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/server certificate is not trusted .*check bridge.tls.ca/);
    expect(bridge.status().connected).toBe(false);
  });
});
