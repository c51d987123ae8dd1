// describeConnectError on the errors node:tls really produces: a local TLS server with certificates from a test CA,
// a server that resets connections, and client credentials OpenSSL cannot load.
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { type ConnectionOptions, connect, createSecureContext, createServer as createTlsServer } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeConnectError } from '../../gateway/upstream/describe-error.js';
import { tempDir } from './queue-helpers.js';
import { makeOddServerCerts, makeTestPki, type OddServerCerts, type TestPki } from './test-pki.js';

let dir: string;
let pki: TestPki;
let odd: OddServerCerts;

beforeAll(async () => {
  dir = await tempDir('z2m-pki-');
  pki = makeTestPki(dir);
  odd = makeOddServerCerts(dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The error of a TLS connection to a server presenting `serverCert` (verified against the test CA). */
async function handshakeError(serverCert: string, opts: ConnectionOptions = {}): Promise<Error> {
  const server = createTlsServer({ cert: readFileSync(serverCert), key: readFileSync(pki.serverKey) });
  server.on('tlsClientError', () => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<Error>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca), ...opts });
      socket.once('error', resolve);
      socket.once('secureConnect', () => {
        socket.destroy();
        reject(new Error('the handshake succeeded'));
      });
    });
  } finally {
    server.close();
  }
}

/**
 * The error of a connection the server resets as soon as the client speaks, as Mosquitto does with TLS on a
 * plain listener and with plain MQTT on a TLS one. `answer`: the server writes this instead of resetting.
 */
async function serverError(useTls: boolean, answer?: string): Promise<Error> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => (answer ? s.end(answer) : s.resetAndDestroy()));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  try {
    return await new Promise<Error>((resolve) => {
      const socket: Socket = useTls
        ? connect({ host: '127.0.0.1', port, ca: readFileSync(pki.ca) })
        : tcpConnect(port, '127.0.0.1', () => socket.write(Buffer.from([0x10, 0x00])));
      socket.once('error', resolve);
    });
  } finally {
    server.close();
  }
}

/** What OpenSSL throws when it loads a client certificate and key (tls.connect does the same, synchronously). */
function loadError(cert: string, key: string): unknown {
  try {
    createSecureContext({ cert: readFileSync(cert), key: readFileSync(key) });
  } catch (err) {
    return err;
  }
  throw new Error('the certificate and key loaded');
}

const URL = 'mqtts://127.0.0.1:8883';

describe('describeConnectError on real node:tls errors', () => {
  it('an expired or not yet valid upstream certificate: renew it or check the clock, not bridge.tls.ca', async () => {
    const expired = describeConnectError(await handshakeError(odd.expired), URL);
    expect(expired).toBe(
      "TLS: the upstream's certificate has expired (certificate has expired): renew it on the broker, or check this machine's clock",
    );
    const early = describeConnectError(await handshakeError(odd.notYetValid), URL);
    expect(early).toBe(
      "TLS: the upstream's certificate is not valid yet (certificate is not yet valid): renew it on the broker, or check this machine's clock",
    );
  });

  it('a certificate for other names lists its DNS names', async () => {
    expect(describeConnectError(await handshakeError(odd.dnsOnly), URL)).toBe(
      'TLS: the upstream certificate is for DNS:broker.example.com, DNS:localhost, not 127.0.0.1; check the URL host or bridge.tls.servername',
    );
    const sni = await handshakeError(pki.serverCert, { servername: 'broker.example.org' });
    expect(describeConnectError(sni, URL)).toBe(
      'TLS: the upstream certificate is for DNS:localhost, IP Address:127.0.0.1, not broker.example.org; check the URL host or bridge.tls.servername',
    );
  });

  it('a certificate from another CA: check bridge.tls.ca', async () => {
    const other = await handshakeError(pki.serverCert, { ca: readFileSync(pki.otherCa) });
    expect(describeConnectError(other, URL)).toMatch(
      /^TLS: the upstream server certificate is not trusted \(.+\); check bridge\.tls\.ca$/,
    );
  });

  it('a client certificate and key that do not match, or are not PEM', async () => {
    expect(describeConnectError(loadError(pki.clientCert, pki.serverKey), URL)).toBe(
      'TLS: bridge.tls.cert and bridge.tls.key do not match: the key is not the private key of that certificate (error:05800074:x509 certificate routines::key values mismatch)',
    );
    const text = join(dir, 'not-pem.txt');
    await writeFile(text, 'hello\n');
    expect(describeConnectError(loadError(pki.clientCert, text), URL)).toMatch(
      /^TLS: bridge\.tls\.cert and bridge\.tls\.key are not PEM \(bridge\.tls\.key cannot be read: .*DECODER routines/,
    );
    expect(describeConnectError(loadError(text, pki.clientKey), URL)).toMatch(
      /^TLS: bridge\.tls\.cert and bridge\.tls\.key are not PEM \(bridge\.tls\.cert cannot be read: .*PEM routines/,
    );
  });

  it('a connection reset: on mqtt:// asks whether the port expects TLS, on mqtts:// names both causes', async () => {
    const plain = await serverError(false);
    expect((plain as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(describeConnectError(plain, 'mqtt://127.0.0.1:8883')).toBe(
      'upstream mqtt://127.0.0.1:8883 closed the connection (ECONNRESET); if it does at every attempt: does the port expect TLS? use mqtts://',
    );
    const overTls = await serverError(true);
    expect((overTls as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(describeConnectError(overTls, 'mqtts://127.0.0.1:1883')).toBe(
      'upstream mqtts://127.0.0.1:1883 closed the connection (ECONNRESET); if it does at every attempt: the port may not speak TLS (use mqtt://), or it refused our client certificate (check bridge.tls.cert / key)',
    );
  });

  it('TLS to a port that answers in plain text: use mqtt://', async () => {
    const err = await serverError(true, 'HTTP/1.1 400 Bad Request\r\n\r\n');
    expect(describeConnectError(err, 'mqtts://127.0.0.1:1883')).toBe(
      'upstream mqtts://127.0.0.1:1883 does not speak TLS on this port (ERR_SSL_WRONG_VERSION_NUMBER); use mqtt://',
    );
  });
});
