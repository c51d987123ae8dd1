// `zephyr2mqtt validate` checks that the files `run` reads at start (TLS certificates, keys, CAs) can be read, and
// the broker settings `run` would refuse to start with.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../../gateway/broker/password.js';
import { validateCommand } from '../../gateway/cli/validate.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'z2m-validate-'));
  await writeFile(join(dir, 'tls.key'), 'key');
  await writeFile(join(dir, 'tls.crt'), 'cert');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(text: string) {
  const file = join(dir, 'gateway.yaml');
  await writeFile(file, text);
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: unknown) => void out.push(String(line)));
  vi.spyOn(console, 'error').mockImplementation((line: unknown) => void err.push(String(line)));
  try {
    return { file, code: await validateCommand(file), stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    vi.restoreAllMocks();
  }
}

function config(cert: string, ca: string, bridgeEnabled = true): string {
  return [
    'broker:',
    '  allow_anonymous: true',
    '  listeners:',
    `    - { type: mqtts, port: 8883, cert: ${cert}, key: ${join(dir, 'tls.key')} }`,
    'bridge:',
    `  enabled: ${bridgeEnabled}`,
    '  url: mqtts://broker.example:8883',
    '  tls:',
    `    ca: ${ca}`,
    'devices: []',
    '',
  ].join('\n');
}

describe('zephyr2mqtt validate: files the config names', () => {
  it('is valid when every certificate, key and CA can be read', async () => {
    const res = await validate(config(join(dir, 'tls.crt'), join(dir, 'tls.crt')));
    expect(res).toMatchObject({ code: 0, stdout: `${res.file}: valid`, stderr: '' });
  });

  it('names the key, line and path of each file that cannot be read, exit 2', async () => {
    const res = await validate(config('/nonexistent/tls.crt', join(dir, 'no-ca.pem')));
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toEqual([
      `invalid config ${res.file}:`,
      `  ${res.file}:4:34 broker.listeners[0].cert: cannot read /nonexistent/tls.crt (ENOENT) (hint: no such file: check the path (relative paths start from the working directory))`,
      `  ${res.file}:9:5 bridge.tls.ca: cannot read ${join(dir, 'no-ca.pem')} (ENOENT) (hint: no such file: check the path (relative paths start from the working directory))`,
    ]);
  });

  it('says a directory is not a PEM file, and leaves the files of a disabled bridge alone', async () => {
    const res = await validate(config(dir, join(dir, 'no-ca.pem'), false));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`broker.listeners[0].cert: cannot read ${dir} (EISDIR) (hint: it is a directory`);
    expect(res.stderr).not.toContain('bridge.tls.ca');
  });
});

describe('zephyr2mqtt validate: broker settings run would refuse to start with', () => {
  it('names broker.allow_anonymous when no user could ever connect (the defaults), exit 2', async () => {
    const res = await validate(['gateway:', '  log_level: info', 'devices: []', ''].join('\n'));
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toEqual([
      `invalid config ${res.file}:`,
      `  ${res.file}:1:1 broker.allow_anonymous: no users are configured and allow_anonymous is false (the default), so no MQTT client could ever connect (hint: add broker.users (hash a password with \`zephyr2mqtt passwd USER\`), or set broker.allow_anonymous: true with listeners bound to 127.0.0.1 only)`,
    ]);
  });

  it('names each user listed twice and each password_hash that is no scrypt hash, with their lines', async () => {
    const hash = await hashPassword('wonderland', { N: 1024 });
    const res = await validate(
      [
        'broker:',
        '  users:',
        `    - { username: alice, password_hash: "${hash}" }`,
        '    - { username: bob, password_hash: "scrypt$7$8$1$AAAA$AAAAAAAAAAAAAAAAAAAAAA==" }',
        `    - { username: alice, password_hash: "${hash}" }`,
        '',
      ].join('\n'),
    );
    expect(res.code).toBe(2);
    expect(res.stderr.split('\n')).toEqual([
      `invalid config ${res.file}:`,
      `  ${res.file}:4:24 broker.users[1].password_hash: scrypt N must be a power of two between 2 and 1048576, got "7" (user bob) (hint: make one with \`zephyr2mqtt passwd USER\` and paste the whole line it prints)`,
      `  ${res.file}:5:9 broker.users[2].username: username "alice" is listed twice (hint: list each user once, with all of its acl rules)`,
    ]);
  });

  it('is valid with a user and anonymous access off', async () => {
    const hash = await hashPassword('wonderland', { N: 1024 });
    const res = await validate(
      ['broker:', '  users:', `    - { username: alice, password_hash: "${hash}" }`, ''].join('\n'),
    );
    expect(res).toMatchObject({ code: 0, stdout: `${res.file}: valid`, stderr: '' });
  });
});

describe('zephyr2mqtt validate: devices left on an adapter the config disables', () => {
  it('warns per adapter at its first such device, naming them and the fix, and stays valid (exit 0)', async () => {
    const res = await validate(
      [
        'broker:',
        '  allow_anonymous: true',
        'adapters:',
        '  serial: { enabled: false }',
        'devices:',
        '  - { id: kitchen, transport: coap }',
        '  - { id: uart-a, transport: serial, path: /dev/ttyACM0 }',
        '  - { id: uart-b, transport: serial, path: /dev/ttyACM1 }',
        '  - { id: uart-c, transport: serial, path: /dev/ttyACM2, disabled: true }',
        '',
      ].join('\n'),
    );
    expect(res.code).toBe(0);
    expect(res.stdout).toBe(`${res.file}: valid (1 warning)`);
    expect(res.stderr.split('\n')).toEqual([
      `warning: ${res.file}:7:19 devices[1].transport: the serial adapter is disabled in the config (adapters.serial.enabled: false), so its devices stay offline and their commands are refused: uart-a, uart-b (hint: set adapters.serial.enabled: true, or disabled: true on these devices)`,
    ]);
  });
});
