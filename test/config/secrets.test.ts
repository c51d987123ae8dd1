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

  it('$${ is a literal ${', () => {
    const text = 'gateway:\n  id: $${GW}\nbridge:\n  state_topic: "a/$${file:/etc/hostname}/$$${GW}"\n';
    expect(() => parseConfigText(text, join(dir, 'g.yaml'), { GW: 'pi-1' })).toThrow(/gateway\.id: expected letters/);
    const config = parseConfigText(text.replace('$${GW}', 'gw'), join(dir, 'g.yaml'), { GW: 'pi-1' });
    expect(config.bridge.state_topic).toBe('a/${file:/etc/hostname}/$${GW}');
  });

  it('${VAR:-default} also replaces an empty variable, ${VAR-default} only an unset one', () => {
    const text =
      'bridge:\n  client_id: ${EMPTY:-fallback}\n  username: "${EMPTY-unset}"\n  remote_prefix: ${NONE-x/}\n';
    const config = parseConfigText(text, join(dir, 'g.yaml'), { EMPTY: '' });
    expect(config.bridge.client_id).toBe('fallback');
    expect(config.bridge.username).toBe('');
    expect(config.bridge.remote_prefix).toBe('x/');
  });

  it('an unquoted value that is one reference takes the YAML type of what it gives; a quoted one stays text', () => {
    const text = [
      'broker:',
      '  max_packet_size: ${MAXP:-1000}',
      '  allow_anonymous: ${ANON:-true}',
      '  listeners:',
      '    - type: mqtt',
      '      port: ${PORT}',
      'gateway:',
      '  id: "${GW_ID}"',
      '',
    ].join('\n');
    const config = parseConfigText(text, join(dir, 'g.yaml'), { PORT: '1884', GW_ID: '42' });
    expect(config.broker.max_packet_size).toBe(1000);
    expect(config.broker.allow_anonymous).toBe(true);
    expect(config.broker.listeners[0]?.port).toBe(1884);
    expect(config.gateway.id).toBe('42');
  });

  it('references inside { } and [ ] work as in block style (a flow { would otherwise open a mapping)', () => {
    const text = [
      'broker:',
      '  listeners:',
      '    - { type: mqtt, host: 127.0.0.1, port: ${MQTT_PORT} } # not ${THIS}',
      "    - { type: ws, host: \"${WS_HOST:-::1}\", port: ${WS_PORT:-8083}, allowed_origins: ['it''s ${SITE}', $${X}] }",
      'gateway: { id: "gw-${SITE}" }',
      '',
    ].join('\n');
    const config = parseConfigText(text, join(dir, 'g.yaml'), { MQTT_PORT: '1999', SITE: 'a' });
    expect(config.broker.listeners.map((l) => [l.host, l.port])).toEqual([
      ['127.0.0.1', 1999],
      ['::1', 8083],
    ]);
    expect(config.broker.listeners[1]).toMatchObject({ allowed_origins: ["it's a", '${X}'] });
    expect(config.gateway.id).toBe('gw-a');
    // Positions stay true: an error after a reference on the same line points at its key.
    try {
      parseConfigText('http: { port: ${P}, bogus: 1 }\n', join(dir, 'g.yaml'), { P: '80' });
      expect.unreachable('accepted');
    } catch (err) {
      expect((err as ConfigError).issues).toMatchObject([{ path: 'http.bogus', line: 1, column: 21 }]);
    }
  });

  it('${file:...} stays text even unquoted: a password of digits is still a password', async () => {
    await writeFile(join(dir, 'pw'), '123456\n');
    const text = 'bridge:\n  url: mqtt://127.0.0.1:1\n  username: gw\n  password: ${file:pw}\n';
    expect(parseConfigText(text, join(dir, 'g.yaml'), {}).bridge.password).toBe('123456');
  });

  it('a wrongly typed substituted value: the hint says what to change about the reference', () => {
    const hints = (text: string, env: NodeJS.ProcessEnv) => {
      try {
        parseConfigText(text, join(dir, 'g.yaml'), env);
      } catch (err) {
        return (err as ConfigError).issues.map((i) => [i.path, i.message, i.hint]);
      }
      return [];
    };
    expect(hints('http:\n  port: "${PORT}"\n', { PORT: '80' })).toEqual([
      [
        'http.port',
        'expected number, got <value from ${PORT}>',
        'write ${PORT} without quotes so that its value is read as a number',
      ],
    ]);
    expect(hints('gateway:\n  id: ${GW_ID}\n', { GW_ID: '42' })).toEqual([
      [
        'gateway.id',
        'expected string, got <value from ${GW_ID}>',
        'quote it to keep the value of ${GW_ID} as text: "${GW_ID}"',
      ],
    ]);
  });

  it('error messages never show a secret: substituted values by their reference, secret keys masked', async () => {
    await writeFile(join(dir, 'hash'), 'hunter2-plain-password\n');
    const text = [
      'broker:',
      '  users:',
      '    - { username: a, password_hash: "${file:hash}" }',
      '    - { username: b, password_hash: MyLiteralPassw0rd }',
      'bridge:',
      '  keepalive: ${BRIDGE_PW}',
      '  url: "mqtt://${BRIDGE_PW}@host"',
      '',
    ].join('\n');
    let message = '';
    try {
      parseConfigText(text, join(dir, 'g.yaml'), { BRIDGE_PW: 'MyPlainPassw0rd' });
    } catch (err) {
      message = (err as Error).message;
      expect((err as ConfigError).issues.map((i) => [i.path, i.message.replace(/.*, got /, 'got ')])).toEqual([
        ['broker.users[0].password_hash', 'got <value from ${file:hash}>'],
        ['broker.users[1].password_hash', 'got <hidden>'],
        ['bridge.keepalive', 'got <value from ${BRIDGE_PW}>'],
      ]);
    }
    for (const secret of ['hunter2', 'MyLiteralPassw0rd', 'MyPlainPassw0rd']) expect(message).not.toContain(secret);
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
