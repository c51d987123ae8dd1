// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// Every class of config error names the file, line and column, the key path, what was expected and a hint.
import { describe, expect, it } from 'vitest';
import { ConfigError, type ConfigIssue, parseConfigText } from '../../gateway/config/load.js';
import { gatewayConfigSchema } from '../../gateway/controller.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

// Device entries use the test transport, whose keys no other engineer changes under us.
const schema = gatewayConfigSchema([createTestAdapterModule().module]);

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfigText(text, '/etc/z/gateway.yaml', env, { schema });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('the config was accepted');
}

describe('config errors', () => {
  it('YAML syntax: position and hint', () => {
    const [issue] = issuesOf('gateway:\n  id: [a\n');
    expect(issue).toMatchObject({ line: 3, column: 1 });
    expect(issue?.message).toMatch(/^YAML syntax: Flow sequence/);
    expect(issue?.hint).toMatch(/indentation/);
  });

  it('duplicate YAML key', () => {
    const [issue] = issuesOf('http:\n  port: 1\n  port: 2\n');
    expect(issue?.message).toMatch(/YAML syntax: Map keys must be unique/);
    expect(issue?.line).toBe(3);
  });

  it('unknown key with a did-you-mean hint, at the key itself', () => {
    expect(issuesOf('gateway:\n  id: x\n  base_topik: y\n')).toEqual([
      {
        path: 'gateway.base_topik',
        line: 3,
        column: 3,
        message: 'unknown key "base_topik"',
        hint: 'did you mean "base_topic"?',
      },
    ]);
  });

  it('unknown top-level section lists what is allowed when nothing is close', () => {
    const [issue] = issuesOf('zzzzzz: 1\n');
    expect(issue).toMatchObject({ path: 'zzzzzz', line: 1, column: 1, message: 'unknown key "zzzzzz"' });
    expect(issue?.hint).toMatch(/^allowed keys: version, gateway, broker, http, api, adapters, bridge, .*devices$/);
  });

  it('unknown key in a device entry names only keys of its transport', () => {
    const [issue] = issuesOf('devices:\n  - id: a\n    transport: test\n    naem: Kitchen\n');
    expect(issue).toMatchObject({ path: 'devices[0].naem', line: 4, column: 5, hint: 'did you mean "name"?' });
  });

  it('wrong type', () => {
    expect(issuesOf('http:\n  port: "eighty"\n')).toEqual([
      { path: 'http.port', line: 2, column: 3, message: 'expected number, got "eighty"', hint: undefined },
    ]);
  });

  it('bad enum value with a suggestion', () => {
    const [issue] = issuesOf('gateway:\n  log_level: warning\n');
    expect(issue?.path).toBe('gateway.log_level');
    expect(issue?.line).toBe(2);
    expect(issue?.message).toBe(
      'expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "warning"',
    );
    expect(issue?.hint).toBe('did you mean "warn"?');
  });

  it('missing required key points at the entry that lacks it', () => {
    const [issue] = issuesOf('broker:\n  users:\n    - username: bob\n');
    expect(issue).toMatchObject({
      path: 'broker.users[0].password_hash',
      line: 3,
      column: 7,
      message: 'missing required key (expected string)',
    });
  });

  it('bad device transport', () => {
    const [issue] = issuesOf('devices:\n  - id: a\n    transport: zigbee\n');
    expect(issue).toMatchObject({ path: 'devices[0].transport', line: 3, column: 5 });
    expect(issue?.message).toBe('unknown transport "zigbee": expected one of coap, serial, ble, test');
    expect(issue?.hint).toMatch(/transport decides/);
    expect(issuesOf('devices:\n  - id: a\n    transport: tset\n')[0]?.hint).toBe('did you mean "test"?');
    expect(issuesOf('devices:\n  - id: a\n')[0]?.message).toBe('missing "transport"');
  });

  it('duplicate device ids', () => {
    const text =
      'devices:\n  - { id: a, transport: test }\n  - { id: b, transport: test }\n  - { id: a, transport: test }\n';
    expect(issuesOf(text)).toEqual([
      { path: 'devices[2].id', line: 4, column: 7, message: 'duplicate device id "a" (devices[0])', hint: undefined },
    ]);
  });

  it('invalid device id format', () => {
    const [issue] = issuesOf('devices:\n  - { id: "Kitchen Sensor", transport: test }\n');
    expect(issue?.path).toBe('devices[0].id');
    expect(issue?.message).toMatch(/lowercase letters, digits/);
  });

  it('missing environment variable', () => {
    expect(issuesOf('gateway:\n  id: ${GW_ID}\n')).toEqual([
      {
        path: 'gateway.id',
        line: 2,
        column: 3,
        message: 'environment variable GW_ID is not set',
        hint: 'export GW_ID=... or write ${GW_ID:-default}',
      },
    ]);
  });

  it('a config written for a newer format', () => {
    const [issue] = issuesOf('version: 2\n');
    expect(issue?.message).toBe('config format 2 is newer than this zephyr2mqtt understands (1)');
    expect(issue?.hint).toMatch(/upgrade/);
  });

  it('reports several problems at once, and the message carries file:line:col for each', () => {
    let message = '';
    try {
      parseConfigText('http:\n  port: x\ngateway:\n  idd: 1\n', '/etc/z/gateway.yaml', {});
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('/etc/z/gateway.yaml:2:3 http.port: expected number, got "x"');
    expect(message).toContain('/etc/z/gateway.yaml:4:3 gateway.idd: unknown key "idd" (hint: did you mean "id"?)');
  });

  it('accepts an empty file with every default', () => {
    const config = parseConfigText('', 'empty.yaml', {});
    expect(config.version).toBe(1);
    expect(config.gateway.base_topic).toBe('zephyr2mqtt');
    expect(config.devices).toEqual([]);
  });
});
