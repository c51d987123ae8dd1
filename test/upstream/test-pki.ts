// A throw-away PKI made with the openssl CLI: a CA, a server certificate for 127.0.0.1/localhost, a client
// certificate, and an unrelated second CA; on request, server certificates that fail verification.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  ca: string;
  otherCa: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('openssl CLI not found: install it (Debian: apt-get install openssl)');
    }
    throw err;
  }
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestPki(dir: string): TestPki {
  const ca = (name: string) =>
    openssl(
      ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`],
      dir,
    );
  ca('test-ca');
  ca('other-ca');
  const leaf = (name: string, ext: string) => {
    openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial'].concat([
        '-out',
        `${name}.pem`,
        '-days',
        '2',
        '-extfile',
        `${name}.ext`,
      ]),
      dir,
    );
  };
  leaf('server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string) => join(dir, f);
  return {
    ca: p('test-ca.pem'),
    otherCa: p('other-ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
  };
}

/** Server certificates (for server.key) from the test CA that each fail verification in one way. */
export interface OddServerCerts {
  expired: string;
  notYetValid: string;
  /** Valid, for DNS:broker.example.com and DNS:localhost only (no IP address). */
  dnsOnly: string;
}

/** `dir` holds a PKI from makeTestPki. `openssl ca` because only it sets arbitrary validity dates in OpenSSL 3.0. */
export function makeOddServerCerts(dir: string): OddServerCerts {
  mkdirSync(join(dir, 'ca-db'));
  writeFileSync(join(dir, 'ca-db/index.txt'), '');
  writeFileSync(join(dir, 'ca-db/serial'), '1000\n');
  const conf = ['[ca]', 'default_ca = test', '[test]', 'database = ca-db/index.txt', 'new_certs_dir = ca-db']
    .concat(['serial = ca-db/serial', 'default_md = sha256', 'policy = any', 'unique_subject = no'])
    .concat(['[any]', 'commonName = supplied']);
  writeFileSync(join(dir, 'ca.cnf'), `${conf.join('\n')}\n`);
  const sign = (name: string, san: string, dates: string[]) => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
    const ca = ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'test-ca.pem', '-keyfile', 'test-ca.key'];
    openssl([...ca, '-in', 'server.csr', '-out', `${name}.pem`, '-extfile', `${name}.ext`, ...dates], dir);
    return join(dir, `${name}.pem`);
  };
  const sameNames = 'DNS:localhost,IP:127.0.0.1';
  return {
    expired: sign('expired', sameNames, ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z']),
    notYetValid: sign('not-yet-valid', sameNames, ['-startdate', '20991231000000Z', '-enddate', '21000101000000Z']),
    dnsOnly: sign('dns-only', 'DNS:broker.example.com,DNS:localhost', ['-days', '2']),
  };
}
