// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// Every class of config error names the file, line and column, the key path, what was expected and a fix.
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
    const [issue] = issuesOf('gateway:\n  id: x\n  - a\nhttp: {}\n');
    expect(issue).toMatchObject({ line: 3, column: 1 });
    expect(issue?.message).toMatch(/^YAML syntax: A block sequence/);
    expect(issue?.hint).toMatch(/indentation/);
  });

  it('YAML syntax at the end of the file points at the last line with content, not past it', () => {
    const [issue] = issuesOf('gateway:\n  id: [a\n');
    expect(issue).toMatchObject({ line: 2, column: 9 });
    expect(issue?.message).toMatch(/^YAML syntax: Flow sequence/);
    expect(issue?.hint).toMatch(/missing `]`/);
    // A long file with an unclosed quote and blank lines after it.
    const lines = Array.from({ length: 106 }, (_, i) => `  k${i}: v`);
    const long = `gateway:\n  id: "gw\n${lines.join('\n')}\n\n\n`;
    expect(issuesOf(long)[0]).toMatchObject({ line: 108, column: 10, message: 'YAML syntax: Missing closing "quote' });
  });

  it('a tab used to indent: that line and how to fix it, not the errors about mappings it causes after it', () => {
    expect(issuesOf('adapters:\n  coap:\n\tenabled: true\n    port: 5683\nhttp: {}\n')).toEqual([
      {
        path: '',
        line: 3,
        column: 1,
        message: 'YAML syntax: a tab indents this line; YAML indents with spaces only',
        hint: 'replace the tab at the start of line 3 with spaces, as many as the lines around it use',
      },
    ]);
  });

  it('YAML syntax: one issue per place, though the parser reports two there', () => {
    const issues = issuesOf('gateway:\n id: gw\n  data_dir: ./data\n');
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ line: 2, column: 6, message: expect.stringMatching(/^YAML syntax: /) });
  });

  it('duplicate YAML key: the key, its path and the line it was first set on', () => {
    expect(issuesOf('http:\n  port: 1\n  port: 2\nbroker: {}\nbroker:\n  max_inflight: 5\n')).toEqual([
      {
        path: 'http.port',
        line: 3,
        column: 3,
        message: 'duplicate key "port" (first on line 2); YAML allows a key once per mapping',
        hint: 'remove one of them',
      },
      {
        path: 'broker',
        line: 5,
        column: 1,
        message: 'duplicate key "broker" (first on line 4); YAML allows a key once per mapping',
        hint: 'merge the two `broker:` blocks into one',
      },
    ]);
  });

  it('several YAML documents in one file', () => {
    expect(issuesOf('---\ngateway:\n  id: a\n---\ndevices: []\n')).toEqual([
      {
        path: '',
        line: 4,
        column: 1,
        message: 'the file has more than one YAML document (a stray `---`?)',
        hint: 'remove the `---` on line 4: the config is one document',
      },
    ]);
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
    expect(issue?.hint).toMatch(
      /^allowed keys: version, gateway, broker, http, api, adapters, bridge, .*devices, blocklist$/,
    );
  });

  it('a key indented to the wrong level: the level it belongs to, deeper or higher up', () => {
    // Level with `coap:` instead of under it.
    expect(issuesOf('adapters:\n  coap:\n    enabled: true\n  port: 5683\n')).toEqual([
      {
        path: 'adapters.port',
        line: 4,
        column: 3,
        message: 'unknown key "port"',
        hint: '"port" is a key of adapters.coap: indent it under `coap:`',
      },
    ]);
    // The top-level `devices:` indented under the block above it.
    expect(issuesOf('http:\n  port: 8081\n  devices:\n    - { id: a, transport: test }\n')).toEqual([
      {
        path: 'http.devices',
        line: 3,
        column: 3,
        message: 'unknown key "devices"',
        hint: '"devices" belongs at the top level: indent it less, level with the keys there',
      },
    ]);
  });

  it('unknown key in a device entry names only keys of its transport', () => {
    const [issue] = issuesOf('devices:\n  - id: a\n    transport: test\n    naem: Kitchen\n');
    expect(issue).toMatchObject({ path: 'devices[0].naem', line: 4, column: 5, hint: 'did you mean "name"?' });
  });

  it("unknown key below a device's own keys names only that transport's keys (a BLE match is not a serial one)", () => {
    const issues = issuesOf(
      'devices:\n  - id: a\n    transport: ble\n    match:\n      address: "aa:bb:cc:dd:ee:ff"\n      vendor: x\n',
    );
    expect(issues).toEqual([
      expect.objectContaining({
        path: 'devices[0].match.vendor',
        line: 6,
        message: 'unknown key "vendor"',
        hint: 'allowed keys: address, name, bthome_mac, serial_number',
      }),
    ]);
  });

  it('wrong type', () => {
    expect(issuesOf('http:\n  port: "eighty"\n')).toEqual([
      {
        path: 'http.port',
        line: 2,
        column: 3,
        message: 'expected number, got "eighty"',
        hint: 'write a number without quotes, e.g. port: 8080',
      },
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
      {
        path: 'devices[2].id',
        line: 4,
        column: 7,
        message: 'duplicate device id "a" (devices[0])',
        hint: 'give every device its own id: it names the device in MQTT topics',
      },
    ]);
  });

  it('a duplicate device id is reported even when another entry is invalid', () => {
    const text = [
      'devices:',
      '  - { id: a, transport: test }',
      '  - { id: a, transport: test }',
      '  - { id: b, transport: zigbee }',
      '  - { transport: test }',
      '  - { transport: test }',
      '  - null',
      '',
    ].join('\n');
    expect(issuesOf(text).map((i) => [i.path, i.line, i.message])).toEqual([
      ['devices[1].id', 3, 'duplicate device id "a" (devices[0])'],
      ['devices[2].transport', 4, 'unknown transport "zigbee": expected one of coap, serial, ble, test'],
      ['devices[3].id', 5, 'missing required key (expected string)'],
      ['devices[4].id', 6, 'missing required key (expected string)'],
      ['devices[5]', 7, 'expected object, got null'],
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

  it('a missing environment variable and schema errors elsewhere are reported together', () => {
    const text = [
      'gateway:',
      '  id: ${NOPE}',
      'http:',
      '  port: 70000',
      '  host: 5',
      'api:',
      '  availability_timeout: 0',
      'broker:',
      '  max_inflight: abc',
      '  users:',
      '    - { username: bob, password_hash: "${HASH}" }',
      '',
    ].join('\n');
    // Nothing about the unresolved gateway.id or password_hash themselves (their format, or a missing key).
    expect(issuesOf(text).map((i) => [i.path, i.line, i.message])).toEqual([
      ['gateway.id', 2, 'environment variable NOPE is not set'],
      ['http.port', 4, 'Too big: expected number to be <=65535'],
      ['http.host', 5, 'expected string, got number 5'],
      ['api.availability_timeout', 7, 'Too small: expected number to be >0'],
      ['broker.max_inflight', 9, 'expected number, got "abc"'],
      ['broker.users[0].password_hash', 11, 'environment variable HASH is not set'],
    ]);
  });

  it('an unknown key holding an unset variable is still an unknown key', () => {
    expect(issuesOf('gateway:\n  idd: ${NOPE}\n').map((i) => i.message)).toEqual([
      'environment variable NOPE is not set',
      'unknown key "idd"',
    ]);
  });

  it('api.transport_availability_timeouts takes only transport names', () => {
    expect(issuesOf('api:\n  transport_availability_timeouts: { zigbee: 5, tset: 1 }\n')).toEqual([
      {
        path: 'api.transport_availability_timeouts.zigbee',
        line: 2,
        column: 38,
        message: 'unknown key "zigbee"',
        hint: 'allowed keys: coap, serial, ble, test',
      },
      {
        path: 'api.transport_availability_timeouts.tset',
        line: 2,
        column: 49,
        message: 'unknown key "tset"',
        hint: 'did you mean "test"?',
      },
    ]);
    const text = 'api:\n  transport_availability_timeouts: { ble: 300, coap: 900 }\n';
    expect(parseConfigText(text, 'g.yaml', {}).api.transport_availability_timeouts).toEqual({ ble: 300, coap: 900 });
    expect(() => parseConfigText('api:\n  transport_availability_timeouts: { test: 1 }\n', 'g.yaml', {})).toThrow(
      /unknown key "test" \(hint: allowed keys: coap, serial, ble\)/,
    );
  });

  it('hints say how to fix the value', () => {
    const hints = (text: string) => issuesOf(text).map((i) => [i.path, i.hint]);
    expect(hints('http:\n  port: 70000\n')).toEqual([['http.port', 'use a value between 0 and 65535']]);
    // "without quotes" only where the value was quoted.
    expect(hints('broker:\n  listeners: [{ type: mqtt, port: abc }]\n')).toEqual([
      ['broker.listeners[0].port', 'write a number, e.g. port: 1883'],
    ]);
    expect(hints("broker:\n  listeners: [{ type: mqtt, port: '1883' }]\n")).toEqual([
      ['broker.listeners[0].port', 'write a number without quotes, e.g. port: 1883'],
    ]);
    expect(hints('api:\n  availability_timeout: 0\n')).toEqual([
      ['api.availability_timeout', 'use a value of at least 1'],
    ]);
    expect(hints('broker:\n  max_packet_size: 1.5\n')).toEqual([
      ['broker.max_packet_size', 'write a whole number, e.g. max_packet_size: 262144'],
    ]);
    expect(hints('http:\n  enabled: "yes"\n')).toEqual([
      ['http.enabled', 'write true or false without quotes, e.g. enabled: true'],
    ]);
    expect(hints('broker:\n  listeners: []\n')).toEqual([
      ['broker.listeners', 'list at least 1 entry, or leave the key out'],
    ]);
    expect(hints('devices:\n  - { id: a, transport: test, name: "" }\n')).toEqual([
      ['devices[0].name', 'write a non-empty value, or leave the key out'],
    ]);
    expect(hints('devices:\n  - { id: Kitchen Sensor, transport: test }\n')).toEqual([
      ['devices[0].id', 'did you mean "kitchen-sensor"?'],
    ]);
    expect(hints('devices:\n  - { id: a, transport: coap, observe: [obs] }\n')).toEqual([
      ['devices[0].observe[0]', 'did you mean "/obs"?'],
    ]);
    expect(hints('broker:\n  listeners: [{ type: mqtts }]\n')).toEqual([
      ['broker.listeners[0].cert', 'add cert: "..." (PEM certificate chain file)'],
      ['broker.listeners[0].key', 'add key: "..." (PEM private key file)'],
    ]);
    expect(hints('gateway:\n  log_level: loud\n')).toEqual([['gateway.log_level', 'e.g. log_level: "info"']]);
  });

  it('every issue has a hint', () => {
    const text = [
      'version: 0',
      'gateway: { id: "a b", base_topic: "a/#", log_levels: { broker: loud } }',
      'http: { port: -1, host: 5, enabled: "no" }',
      'api: { availability_timeout: 1.5, transport_availability_timeouts: { zigbee: 1, test: 0 } }',
      'broker:',
      '  listeners: [{ type: mqtts, port: x }, { type: ws, path: 5 }, 7]',
      '  users: [{ username: "", password_hash: x, acl: [{ allow: all }] }]',
      'adapters: { test: { fail_starts: -1 } }',
      'bridge: { enabled: maybe }',
      'devices:',
      '  - { id: A, transport: test, disabled: 1, availability_timeout: 0 }',
      '  - { id: a, transport: test, extra: 1 }',
      '  - { id: a, transport: test }',
      '  - { transport: coap, id: b, observe: [obs], port: 0 }',
      '  - { transport: serial, id: c, path: /dev/x, data_bits: 9 }',
      '  - { transport: ble, id: d }',
      '  - plain',
      'zzz: 1',
      '',
    ].join('\n');
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThan(25);
    for (const issue of issues) expect(issue.hint, `${issue.path}: ${issue.message}`).toMatch(/\w/);
  });

  it('a base topic that would break the topic API: empty, wildcards, "$" (the broker\'s own), a trailing "/"', () => {
    const problem = (topic: string) => {
      const [issue, ...more] = issuesOf(`gateway:\n  base_topic: ${JSON.stringify(topic)}\n`);
      expect(more).toEqual([]);
      return [issue?.path, issue?.line, issue?.message, issue?.hint];
    };
    expect(problem('')).toEqual([
      'gateway.base_topic',
      2,
      'the base topic "" is empty; every topic starts with it',
      'e.g. base_topic: zephyr2mqtt',
    ]);
    expect(problem('a/+/b')).toEqual([
      'gateway.base_topic',
      2,
      '"a/+/b" holds an MQTT wildcard (+ or #); every topic starts with the base topic',
      'e.g. base_topic: zephyr2mqtt',
    ]);
    expect(problem('$SYS/z')).toEqual([
      'gateway.base_topic',
      2,
      '"$SYS/z" starts with "$": such topics are the broker\'s own, "#" subscriptions do not see them',
      'drop the "$", e.g. base_topic: zephyr2mqtt',
    ]);
    expect(problem('home/z2m/')).toEqual([
      'gateway.base_topic',
      2,
      '"home/z2m/" ends with "/": every topic would have an empty level (home/z2m//bridge/state)',
      'did you mean "home/z2m"?',
    ]);
    // A leading "/" and inner levels are plain MQTT: kept.
    expect(() => parseConfigText('gateway:\n  base_topic: /site/z2m\n', 'g.yaml', {}, { schema })).not.toThrow();
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

  it('refuses an empty or comment-only file (an editor still writing it), accepts `version: 1` alone', () => {
    for (const text of ['', '\n\n', '# devices come later\n', '~\n']) {
      expect(issuesOf(text), JSON.stringify(text)).toEqual([
        {
          path: '',
          message: 'the file is empty (an editor still writing it?); a running gateway keeps its config',
          hint: 'write at least `version: 1` to run with every default',
        },
      ]);
    }
    const config = parseConfigText('version: 1\n', 'minimal.yaml', {});
    expect(config.gateway.base_topic).toBe('zephyr2mqtt');
    expect(config.devices).toEqual([]);
  });
});

describe('YAML features and their problems', () => {
  it('merge keys, with shared values under a top-level x- key', () => {
    const text = [
      'x-defaults: &defaults',
      '  transport: test',
      '  availability_timeout: 30',
      'devices:',
      '  - <<: *defaults',
      '    id: a',
      '  - { <<: *defaults, id: b, availability_timeout: 5 }',
      '',
    ].join('\n');
    const config = parseConfigText(text, 'merge.yaml', {}, { schema });
    expect(config.devices.map((d) => [d.id, d.transport, d.availability_timeout])).toEqual([
      ['a', 'test', 30],
      ['b', 'test', 5],
    ]);
  });

  it('a misspelt discriminator is named as the misspelt key', () => {
    expect(issuesOf('devices:\n  - id: a\n    tranport: test\n')).toEqual([
      {
        path: 'devices[0].tranport',
        line: 3,
        column: 5,
        message: 'unknown key "tranport"',
        hint: 'did you mean "transport"?',
      },
    ]);
    expect(issuesOf('devices:\n  - id: a\n')[0]?.hint).toBe(
      'add transport: one of coap, serial, ble, test (it decides which other keys the entry takes)',
    );
  });

  it('an alias without its anchor is a located config error', () => {
    const issues = issuesOf('devices:\n  - id: a\n    transport: test\n    name: *label\n    x: &label y\n');
    expect(issues).toEqual([
      {
        path: 'devices[0].name',
        line: 4,
        column: 11,
        message: '*label refers to no anchor &label before it',
        hint: 'put `&label` on the value to repeat, above its first `*label`',
      },
    ]);
  });

  it('an exponential alias expansion ("billion laughs") is a located config error', () => {
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      levels.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const [issue] = issuesOf(`${levels.join('\n')}\n`);
    expect(issue).toMatchObject({ line: 3, message: expect.stringMatching(/^the aliases expand to too many values/) });
  });

  it('tags the loader does not know are errors, not silently dropped', () => {
    expect(issuesOf('bridge:\n  password: !secret mqtt_password\n  username: !env_var MQTT_USER\n')).toEqual([
      {
        path: 'bridge.password',
        line: 2,
        column: 13,
        message: 'unsupported YAML tag !secret',
        hint: 'use ${file:/path} or ${VAR} instead of !secret (the value would be read as plain text)',
      },
      {
        path: 'bridge.username',
        line: 3,
        column: 13,
        message: 'unsupported YAML tag !env_var',
        hint: 'use ${file:/path} or ${VAR} instead of !env_var (the value would be read as plain text)',
      },
    ]);
  });
});

describe('checks written as code', () => {
  const full = gatewayConfigSchema();
  const problems = (text: string) => {
    try {
      parseConfigText(text, '/etc/z/gateway.yaml', {}, { schema: full });
    } catch (err) {
      return (err as ConfigError).issues.map((i) => [i.path, i.line, i.message, i.hint]);
    }
    return [];
  };

  it('show the value given and a fix, never the key description as a hint', () => {
    expect(problems('devices:\n  - { id: bridge, transport: coap }\n')).toEqual([
      [
        'devices[0].id',
        2,
        '"bridge" is reserved for the gateway\'s own topics (<base>/bridge/...)',
        'choose another id, e.g. "bridge-1"',
      ],
    ]);
    const [address] = problems('devices:\n  - { id: a, transport: coap, address: "[fe80::1]:5683" }\n');
    expect(address?.[2]).toMatch(/^expected an IP address such as .*, got "\[fe80::1\]:5683"$/);
    expect(address?.[3]).toBe('did you mean "fe80::1"?');
    expect(problems('adapters:\n  coap:\n    bind: localhost\n')).toEqual([
      ['adapters.coap.bind', 3, 'expected an IP address, got "localhost"', undefined],
    ]);
  });

  it('a rule about two keys points at them', () => {
    const text = 'bridge:\n  password: a\n  password_file: /run/secrets/pw\n  tls:\n    cert: /x.pem\n';
    expect(problems(text)).toEqual([
      ['bridge.password_file', 3, 'set password or password_file, not both', 'keep only one of them'],
      ['bridge.tls.cert', 5, 'tls.cert and tls.key go together', 'set both, or neither'],
    ]);
  });

  it('a missing key that takes one of several types says it is missing, not "got undefined"', () => {
    const entry = (match: string) => problems(`devices:\n  - id: s\n    transport: serial\n    match: ${match}\n`);
    expect(entry('{ usb: { serial: X } }')).toEqual([
      [
        'devices[0].match.usb.vid',
        4,
        'missing required key (expected one of string, number)',
        'add vid: "..." (USB vendor id (Zephyr samples use 2fe3))',
      ],
    ]);
    expect(entry('{ usb: { vid: true } }')[0]?.slice(0, 3)).toEqual([
      'devices[0].match.usb.vid',
      4,
      'expected one of string, number, got boolean true',
    ]);
  });

  it('a CoAP device with SMP needs its address, which the gateway sends the requests to', () => {
    const entry = (keys: string) => problems(`devices:\n  - id: c\n    transport: coap\n${keys}`);
    expect(entry('    smp: true\n')).toEqual([
      [
        'devices[0].smp',
        4,
        'SMP over UDP needs the device address',
        'add `address: <the device IP>` (e.g. "fe80::1%lowpan0"), or remove `smp`',
      ],
    ]);
    expect(entry('    smp: { port: 1337 }\n')[0]?.[0]).toBe('devices[0].smp');
    expect(entry('    smp: false\n')).toEqual([]);
    expect(entry('    smp: true\n    address: "fe80::1%lowpan0"\n')).toEqual([]);
  });

  it('a CoAP address names its zone by interface, and one the gateway sends to at link-local scope has one', () => {
    const entry = (keys: string) => problems(`devices:\n  - id: c\n    transport: coap\n${keys}`);
    expect(entry('    address: "fe80::1%2"\n')).toEqual([
      [
        'devices[0].address',
        4,
        'the zone is an interface index: Node takes interface names only, and reads an index as no zone, got "fe80::1%2"',
        'write the interface name, e.g. "fe80::1%lowpan0" (`ip -6 addr` lists them)',
      ],
    ]);
    const unzoned = [
      'devices[0].address',
      4,
      'link-local address without a zone: the gateway sends to this device, and needs the interface to use, got "fe80::1"',
      'add it after a %, e.g. "fe80::1%lowpan0" (`ip -6 addr` lists the interfaces)',
    ];
    expect(entry('    address: "fe80::1"\n    discover: true\n')).toEqual([unzoned]);
    expect(entry('    address: "fe80::1"\n    observe: [/obs]\n')).toEqual([unzoned]);
    expect(entry('    address: "fe80::1"\n    resources: { t: { path: /t, poll: 60 } }\n')).toEqual([unzoned]);
    expect(entry('    address: "FE80::1"\n    smp: true\n')[0]?.[0]).toBe('devices[0].address');
    // A device that only publishes: its address matches on any interface.
    expect(entry('    address: "fe80::1"\n')).toEqual([]);
    expect(entry('    address: "fe80::1%lowpan0"\n    discover: true\n')).toEqual([]);
    expect(entry('    address: "fd00::1"\n    discover: true\n')).toEqual([]);
    expect(entry('    address: "192.168.1.2"\n    discover: true\n')).toEqual([]);
    expect(problems('adapters:\n  coap:\n    bind: ["fe80::1%3"]\n')[0]?.slice(0, 3)).toEqual([
      'adapters.coap.bind[0]',
      3,
      'the zone is an interface index: Node takes interface names only, and reads an index as no zone, got "fe80::1%3"',
    ]);
    expect(problems('adapters:\n  coap:\n    bind: fe80::1\n')).toEqual([
      [
        'adapters.coap.bind',
        3,
        'link-local address without a zone: a bind address needs the interface it is on, got "fe80::1"',
        'add it after a %, e.g. "fe80::1%lowpan0" (`ip -6 addr` lists the interfaces)',
      ],
    ]);
  });

  it('a serial device finds its port by path or by match, exactly one of them', () => {
    const entry = (keys: string) => problems(`devices:\n  - id: s\n    transport: serial\n${keys}`);
    expect(entry('')).toEqual([
      [
        'devices[0]',
        2,
        'a serial device needs path or match',
        'e.g. path: /dev/ttyACM0, or match: { usb: { vid: 2fe3 } }',
      ],
    ]);
    expect(entry('    path: /dev/ttyACM0\n    match: { usb: { vid: 2fe3 } }\n')).toEqual([
      [
        'devices[0].match',
        5,
        'give either path or match, not both',
        'keep path for a fixed port or match to find it by USB ids',
      ],
    ]);
    expect(entry('    match: {}\n')[0]?.slice(0, 3)).toEqual([
      'devices[0].match',
      4,
      'match names neither usb nor by_id',
    ]);
    expect(entry('    path: /dev/ttyACM0\n')).toEqual([]);
    expect(entry('    match: { by_id: usb-ZEPHYR_Board_0123-if00 }\n')).toEqual([]);
  });

  it('an empty resource name says so', () => {
    expect(problems('devices:\n  - id: c\n    transport: coap\n    resources:\n      "": { path: /x }\n')).toEqual([
      ['devices[0].resources.""', 5, 'the name is empty', 'write a name before the `:`'],
    ]);
  });

  it('rules across keys', () => {
    const text = [
      'broker:',
      '  listeners: [{ type: mqtt, host: 0.0.0.0, port: 8080 }]',
      'http: { host: 127.0.0.1, port: 8080 }',
      'homeassistant: { discovery_prefix: "ha/#" }',
      'bridge:',
      '  reconnect_min: 90',
      '  topics:',
      '    - { pattern: "a/#/b" }',
      '    - { pattern: "a/b+" }',
      '',
    ].join('\n');
    expect(problems(text)).toEqual([
      [
        'http.port',
        3,
        'port 8080 is also the port of broker.listeners[0] (mqtt on 0.0.0.0)',
        'give the HTTP server or the listener another port',
      ],
      [
        'homeassistant.discovery_prefix',
        4,
        '"ha/#" holds an MQTT wildcard (+ or #); the discovery prefix is the start of topics',
        'write the prefix Home Assistant uses, e.g. discovery_prefix: homeassistant',
      ],
      [
        'bridge.reconnect_min',
        6,
        'reconnect_min (90 s) is above reconnect_max (60 s)',
        'make reconnect_min at most reconnect_max',
      ],
      [
        'bridge.topics[0].pattern',
        8,
        '"a/#/b" is not a valid MQTT filter: `#` must be the last level, on its own',
        'did you mean "a/#"?',
      ],
      [
        'bridge.topics[1].pattern',
        9,
        '"a/b+" is not a valid MQTT filter: `+` must be a whole level',
        'e.g. pattern: "sensors/+/state" or "#"',
      ],
    ]);
    // Different hosts may share a port; port 0 is always free.
    expect(
      problems('broker:\n  listeners: [{ type: mqtt, host: 10.0.0.1, port: 8080 }]\nhttp: { host: 127.0.0.1 }\n'),
    ).toEqual([]);
  });

  it('homeassistant is strict like every other section', () => {
    expect(problems('homeassistant:\n  enabld: true\n')).toEqual([
      ['homeassistant.enabld', 2, 'unknown key "enabld"', 'did you mean "enabled"?'],
    ]);
  });
});

describe('unknown keys inside adapter settings', () => {
  const full = gatewayConfigSchema();
  const problems = (text: string): ConfigIssue[] => {
    try {
      parseConfigText(text, '/etc/z/gateway.yaml', {}, { schema: full });
    } catch (err) {
      return (err as ConfigError).issues;
    }
    return [];
  };

  it('are errors at any depth, not silently dropped', () => {
    const issues = problems(
      [
        'devices:',
        '  - { id: uart, transport: serial, match: { usb: { vid: 0x2fe3, prodid: 1 } } }',
        '  - { id: tag, transport: ble, match: { name: x, nmae: y } }',
        '  - { id: node, transport: coap, address: "::1", resources: { t: { path: /t, observ: true } } }',
      ].join('\n'),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'devices[0].match.usb.prodid: unknown key "prodid"',
      'devices[1].match.nmae: unknown key "nmae"',
      'devices[2].resources.t.observ: unknown key "observ"',
    ]);
  });

  it('a CoAP device address must be an IP literal, with the port in its own key', () => {
    const [issue] = problems('devices:\n  - { id: node, transport: coap, address: "[::1]:5683" }\n');
    expect(issue).toMatchObject({ path: 'devices[0].address', line: 2 });
    expect(issue?.message).toMatch(/an IP address such as .*the port goes in `port`/);
  });
});
