// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// Secrets come from the environment or from files, never only from the YAML.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../gateway/config/load.js';

const HASH = 'scrypt$16384$8$1$c2FsdA$aGFzaA';

describe('config secrets', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-secrets-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('expands ${VAR} and ${VAR:-default}', () => {
    const config = parseConfigText('gateway:\n  id: ${GW}\n  base_topic: ${BASE:-fallback}/x\n', join(dir, 'g.yaml'), {
      GW: 'pi-1',
    });
    expect(config.gateway.id).toBe('pi-1');
    expect(config.gateway.base_topic).toBe('fallback/x');
  });

  it('reads ${file:...} (absolute or relative to the config file), dropping the trailing newline', async () => {
    await writeFile(join(dir, 'hash'), `${HASH}\n`);
    const text = `broker:\n  users:\n    - { username: a, password_hash: "\${file:hash}" }\n    - { username: b, password_hash: "\${file:${join(dir, 'hash')}}" }\n`;
    const config = parseConfigText(text, join(dir, 'g.yaml'), {});
    expect(config.broker.users.map((u) => u.password_hash)).toEqual([HASH, HASH]);
  });

  it('a missing secret file is a located config error', () => {
    const text = 'broker:\n  users:\n    - username: a\n      password_hash: ${file:/nonexistent/secret}\n';
    try {
      parseConfigText(text, join(dir, 'g.yaml'), {});
      expect.unreachable('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues).toEqual([
        {
          path: 'broker.users[0].password_hash',
          line: 4,
          column: 7,
          message: 'secret file /nonexistent/secret cannot be read (ENOENT)',
          hint: 'check the path and that the gateway user may read it',
        },
      ]);
    }
  });

  it('substitution happens before validation, so a secret of the wrong shape is reported', async () => {
    await writeFile(join(dir, 'hash'), 'plain-password\n');
    expect(() =>
      parseConfigText(
        'broker:\n  users:\n    - { username: a, password_hash: "${file:hash}" }\n',
        join(dir, 'g.yaml'),
        {},
      ),
    ).toThrow(/password_hash: .*scrypt/);
  });
});
