// `zephyr2mqtt validate` checks that the files `run` reads at start (TLS certificates, keys, CAs) can be read.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
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
