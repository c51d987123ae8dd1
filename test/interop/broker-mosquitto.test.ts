// Interop: Debian's mosquitto_pub / mosquitto_sub (package mosquitto-clients) against the embedded broker,
// over TCP and TLS, with authentication and ACLs.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import type { BrokerMessage } from '../../gateway/broker/types.js';
import { startTestBroker, type TestBroker } from '../broker/helpers.js';
import { makeTestPki, type TestPki } from '../broker/tls-fixtures.js';

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${cmd} is missing: apt-get install mosquitto-clients (or run test/interop/run.sh)`));
        return;
      }
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

/** Runs `cmd` with `input` on its standard input (mosquitto_pub -l publishes one message per line). */
function runWithInput(cmd: string, args: string[], input: string, timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${cmd} is missing: apt-get install mosquitto-clients (or run test/interop/run.sh)`));
        return;
      }
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
    child.stdin?.end(input);
  });
}

/** Starts mosquitto_sub with -d and resolves once its SUBACK arrived, so a following publish cannot be missed. */
function subscribeLive(args: string[]): Promise<{ proc: ChildProcess; done: Promise<RunResult> }> {
  return new Promise((resolve, reject) => {
    // stdbuf: mosquitto_sub's stdio is block-buffered on a pipe, and the SUBACK line must arrive now.
    const proc = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-d', ...args]);
    let stdout = '';
    let stderr = '';
    const done = new Promise<RunResult>((res) => proc.on('close', (code) => res({ code, stdout, stderr })));
    const timer = setTimeout(() => {
      proc.kill();
      reject(new Error(`mosquitto_sub never got a SUBACK: ${stdout} ${stderr}`));
    }, 10_000);
    proc.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`mosquitto_sub failed to start (${err.message}): apt-get install mosquitto-clients`));
    });
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('received SUBACK')) {
        clearTimeout(timer);
        resolve({ proc, done });
      }
    });
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
  });
}

let pki: TestPki;
let users: Array<{ username: string; password_hash: string; acl: Array<{ allow: string; topic: string }> }>;

beforeAll(async () => {
  pki = await makeTestPki();
  users = [
    { username: 'alice', password_hash: await hashPassword('alice-pw'), acl: [{ allow: 'both', topic: '#' }] },
    {
      username: 'sensor',
      password_hash: await hashPassword('sensor-pw'),
      acl: [
        { allow: 'publish', topic: 'sensors/%u/#' },
        { allow: 'subscribe', topic: 'cmd/%c' },
      ],
    },
  ];
});
afterAll(async () => {
  await rm(pki.dir, { recursive: true, force: true });
});

describe('mosquitto clients against the embedded broker', () => {
  let tb: TestBroker;
  let tcp: string;
  let tls: string;
  let mtls: string;
  const routed: BrokerMessage[] = [];

  beforeAll(async () => {
    tb = await startTestBroker({
      allow_anonymous: false,
      users,
      listeners: [
        { type: 'mqtt', host: '127.0.0.1', port: 0 },
        { type: 'mqtts', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey },
        { type: 'mqtts', host: '127.0.0.1', port: 0, cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert },
      ],
    });
    const [a, b, c] = tb.broker.addresses();
    tcp = String(a?.port);
    tls = String(b?.port);
    mtls = String(c?.port);
    tb.broker.subscribe('#', (msg) => {
      if (!msg.topic.startsWith('$')) routed.push(msg);
    });
  });
  afterAll(async () => {
    await tb.dispose();
  });
  afterEach(() => {
    routed.length = 0;
  });

  const alice = ['-h', '127.0.0.1', '-u', 'alice', '-P', 'alice-pw', '-V', 'mqttv311'];

  it('publishes and subscribes over TCP with a password', async () => {
    const sub = await subscribeLive([...alice, '-p', tcp, '-t', 'interop/#', '-C', '1', '-v', '-q', '1']);
    const pub = await run('mosquitto_pub', [...alice, '-p', tcp, '-t', 'interop/tcp', '-m', 'hello', '-q', '1']);
    expect(pub.code).toBe(0);
    const res = await sub.done;
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('interop/tcp hello');
  });

  it('delivers retained messages to mosquitto_sub', async () => {
    await run('mosquitto_pub', [...alice, '-p', tcp, '-t', 'interop/retained', '-m', 'kept', '-r', '-q', '1']);
    const res = await run('mosquitto_sub', [
      ...alice,
      '-p',
      tcp,
      '-t',
      'interop/retained',
      '-C',
      '1',
      '-v',
      '-W',
      '10',
    ]);
    expect(res.stdout.trim()).toBe('interop/retained kept');
  });

  it('refuses a wrong password and anonymous clients', async () => {
    const bad = await run('mosquitto_pub', [
      '-h',
      '127.0.0.1',
      '-p',
      tcp,
      '-u',
      'alice',
      '-P',
      'nope',
      '-t',
      't',
      '-m',
      'x',
    ]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/bad user name or password/i);
    const anon = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', tcp, '-t', 't', '-m', 'x']);
    expect(anon.code).not.toBe(0);
    expect(anon.stderr).toMatch(/not authori[sz]ed/i);
  });

  it('applies ACLs: a denied publish is acknowledged and dropped, a denied subscribe is refused', async () => {
    const sensor = ['-h', '127.0.0.1', '-p', tcp, '-u', 'sensor', '-P', 'sensor-pw', '-V', 'mqttv311'];
    const denied = await run('mosquitto_pub', [...sensor, '-t', 'sensors/other/t', '-m', 'spoof', '-q', '1']);
    expect(denied.code).toBe(0);
    const allowed = await run('mosquitto_pub', [...sensor, '-t', 'sensors/sensor/t', '-m', '21.5', '-q', '1']);
    expect(allowed.code).toBe(0);
    expect(routed.map((m) => [m.topic, m.payload.toString()])).toEqual([['sensors/sensor/t', '21.5']]);
    const sub = await run('mosquitto_sub', [...sensor, '-i', 'node-1', '-t', 'cmd/node-2', '-C', '1', '-W', '5']);
    // mosquitto_sub 2.0 reports the 0x80 return code on stderr and exits without output.
    expect(sub.stderr).toContain('All subscription requests were denied.');
    expect(sub.stdout).toBe('');
    // %c: the same user may subscribe to its own command topic.
    const own = await subscribeLive([...sensor, '-i', 'node-1', '-t', 'cmd/node-1', '-C', '1', '-v']);
    await tb.broker.publish('cmd/node-1', 'reboot', { qos: 1 });
    expect((await own.done).stdout).toContain('cmd/node-1 reboot');
  });

  it('keeps a persistent session for mosquitto_sub -c: QoS 2 messages queued while away come in order, once', async () => {
    const durable = [...alice, '-p', tcp, '-c', '-i', 'interop-durable', '-q', '2', '-t', 'interop/durable/#'];
    // -E: subscribe and leave; the session stays.
    expect((await run('mosquitto_sub', [...durable, '-E'])).code).toBe(0);
    const lines = Array.from({ length: 30 }, (_, i) => `m${i}`);
    const pub = ['-p', tcp, '-q', '2', '-t', 'interop/durable/a'];
    expect((await runWithInput('mosquitto_pub', [...alice, ...pub, '-l'], `${lines.join('\n')}\n`)).code).toBe(0);
    // Back: the 30 come in order, with up to 20 QoS 2 exchanges in flight at once (mosquitto_sub's default).
    const back = await run('mosquitto_sub', [...durable, '-C', '30', '-W', '10']);
    expect(back.stdout.trim().split('\n')).toEqual(lines);
    // Every exchange completed: on the next return only a new message comes, nothing of the 30 again.
    expect((await run('mosquitto_pub', [...alice, ...pub, '-m', 'after'])).code).toBe(0);
    const again = await run('mosquitto_sub', [...durable, '-C', '1', '-W', '10']);
    expect(again.stdout.trim()).toBe('after');
  });

  it('works over TLS, and refuses a server it cannot verify', async () => {
    const res = await run('mosquitto_pub', [
      ...alice,
      '-p',
      tls,
      '--cafile',
      pki.caCert,
      '-t',
      'interop/tls',
      '-m',
      's',
      '-q',
      '1',
    ]);
    expect(res.code).toBe(0);
    expect(routed.map((m) => m.topic)).toContain('interop/tls');
    const wrong = await run('mosquitto_pub', [...alice, '-p', tls, '--cafile', pki.otherCaCert, '-t', 'x', '-m', 'x']);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/certificate verify failed|TLS|SSL/i);
  });

  it('requires a client certificate from the configured CA on the mutual TLS listener', async () => {
    const base = [...alice, '-p', mtls, '--cafile', pki.caCert, '-t', 'interop/mtls', '-m', 'm', '-q', '1'];
    const ok = await run('mosquitto_pub', [...base, '--cert', pki.clientCert, '--key', pki.clientKey]);
    expect(ok.code).toBe(0);
    expect(routed.map((m) => m.topic)).toEqual(['interop/mtls']);
    const noCert = await run('mosquitto_pub', base);
    expect(noCert.code).not.toBe(0);
    const foreign = await run('mosquitto_pub', [...base, '--cert', pki.otherClientCert, '--key', pki.otherClientKey]);
    expect(foreign.code).not.toBe(0);
    expect(routed.map((m) => m.topic)).toEqual(['interop/mtls']);
  });
});

describe('mosquitto_sub -c across a broker restart', () => {
  it('gets the QoS 1 and 2 messages queued before the restart, in order, once', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'z2m-interop-restart-'));
    let tb: TestBroker | undefined;
    const port = () => String(tb?.broker.addresses()[0]?.port);
    /** mosquitto_sub on the persistent session of `qos`, then `extra`. */
    const resume = (qos: string, ...extra: string[]) =>
      run('mosquitto_sub', [
        '-h',
        '127.0.0.1',
        '-p',
        port(),
        '-V',
        'mqttv311',
        '-c',
        '-i',
        `restart-q${qos}`,
        '-q',
        qos,
        '-t',
        `restart/q${qos}/#`,
        ...extra,
      ]);
    const publishArgs = (qos: string, ...extra: string[]) => [
      '-h',
      '127.0.0.1',
      '-p',
      port(),
      '-q',
      qos,
      '-t',
      `restart/q${qos}/t`,
      ...extra,
    ];
    try {
      tb = await startTestBroker({ allow_anonymous: true }, dataDir);
      const lines = Array.from({ length: 25 }, (_, i) => `r${i}`);
      for (const qos of ['1', '2']) {
        expect((await resume(qos, '-E')).code).toBe(0);
        expect((await runWithInput('mosquitto_pub', publishArgs(qos, '-l'), `${lines.join('\n')}\n`)).code).toBe(0);
      }
      await tb.stop();
      tb = await startTestBroker({ allow_anonymous: true }, dataDir);
      for (const qos of ['1', '2']) {
        expect((await resume(qos, '-C', '25', '-W', '10')).stdout.trim().split('\n'), `QoS ${qos}`).toEqual(lines);
        expect((await run('mosquitto_pub', publishArgs(qos, '-m', 'after'))).code).toBe(0);
        expect((await resume(qos, '-C', '1', '-W', '10')).stdout.trim(), `QoS ${qos}`).toBe('after');
      }
    } finally {
      await tb?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
