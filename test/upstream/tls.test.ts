// Mutual TLS towards an aedes upstream with a CA made by the test.
import { readFileSync } from 'node:fs';
import { copyFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { upstreamConfigSchema } from '../../gateway/upstream/config.js';
import { type InProcessUpstream, observe, startUpstreamAedes, startUpstreamAedesWs } from './brokers.js';
import { startLocalBridge, tempDataDir } from './local-bridge.js';
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
  const dir = await tempDataDir(cleanups);
  const b = await startLocalBridge(cleanups, dir, { url, tls });
  await b.bridge.start();
  return b;
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

  it("a client key that is not the certificate's: reported, retried, and connects once the key file is fixed", async () => {
    const dir = await tempDataDir(cleanups);
    const key = join(dir, 'client.key');
    await copyFile(pki.serverKey, key);
    const { bridge, waitForEvent } = await bridgeWith({ ca: pki.ca, cert: pki.clientCert, key });
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/^TLS: bridge\.tls\.cert and bridge\.tls\.key do not match/);
    expect(bridge.status()).toMatchObject({ connected: false, last_error: err.error });
    // Every attempt reads the files again: the next one after the fix connects.
    await copyFile(pki.clientKey, key);
    await waitForEvent('connected');
    expect(bridge.status()).toMatchObject({ connected: true, last_error: null });
  });

  it('a client key that is not PEM: reported, and a reload with the right key connects', async () => {
    const dir = await tempDataDir(cleanups);
    const notPem = join(dir, 'key.txt');
    await writeFile(notPem, 'not a key\n');
    const { bridge, waitForEvent, events } = await bridgeWith({ ca: pki.ca, cert: pki.clientCert, key: notPem });
    const err = await waitForEvent('error');
    expect(err.error).toMatch(/^TLS: bridge\.tls\.cert and bridge\.tls\.key are not PEM \(bridge\.tls\.key cannot/);
    expect(bridge.status()).toMatchObject({
      state: expect.stringMatching(/waiting|connecting/),
      last_error: err.error,
    });
    const since = events.length;
    const tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    await bridge.reconfigure(
      upstreamConfigSchema.parse({ enabled: true, protocol_version: '3.1.1', url: upstream.url, tls }),
    );
    await waitForEvent('connected', 10_000, since);
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
