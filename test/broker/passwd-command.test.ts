import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runPasswd } from '../../gateway/broker/passwd-command.js';
import { verifyPassword } from '../../gateway/broker/password.js';

async function run(user: string | undefined, input: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await runPasswd(user, { stdin: Readable.from([Buffer.from(input)]), stdout, stderr });
  return { code, out, err };
}

describe('passwd command', () => {
  it('prints a hash of the first stdin line that verifies', async () => {
    const res = await run('alice', 'correct horse \nignored\n');
    expect(res.code).toBe(0);
    const hash = res.out.trim();
    expect(hash).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(await verifyPassword('correct horse ', hash)).toBe(true);
    expect(await verifyPassword('correct horse', hash)).toBe(false);
  });

  it('refuses an empty password and a missing user', async () => {
    expect(await run('alice', '\n')).toMatchObject({ code: 1, out: '', err: 'passwd: empty password refused\n' });
    expect(await run(undefined, 'pw\n')).toMatchObject({ code: 2, out: '' });
  });

  it('warns when %u rules cannot apply to the username', async () => {
    const res = await run('a/b', 'pw\n');
    expect(res.code).toBe(0);
    expect(res.err).toContain('ACL rules using %u never apply to "a/b"');
  });
});
