// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config file syntax under test
// Onboarding edits of the config file (bridge/request/device/add|remove|rename): docs/mqtt-api.md promises
// that comments, key order and formatting outside the edited entry stay as written, byte for byte.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import {
  addDevice,
  ConfigEditError,
  editedText,
  parseForEdit,
  removeDevice,
  renameDevice,
  setDeviceOptions,
  setOptions,
} from '../../gateway/config/edit.js';
import { parseConfigText } from '../../gateway/config/load.js';

const example = readFileSync(new URL('../../config/gateway.example.yaml', import.meta.url), 'utf8');

type Edit = (doc: Document) => void;

function edit(text: string, ...edits: Edit[]): string {
  const doc = parseForEdit(text);
  for (const e of edits) e(doc);
  return editedText(doc);
}

function add(entry: Record<string, unknown>): Edit {
  return (doc) => addDevice(doc, entry);
}
function remove(id: string): Edit {
  return (doc) => removeDevice(doc, id);
}
function rename(id: string, change: { to?: string; name?: string }): Edit {
  return (doc) => renameDevice(doc, id, change);
}
function options(id: string, change: Record<string, unknown>): Edit {
  return (doc) => setDeviceOptions(doc, id, change);
}

const listed = `version: 1
devices:
  # Serial sensor on the bench
  - { id: uart-sensor, transport: serial, match: { usb: { vid: 0x2fe3, pid: 0x0001 } }, framing: ndjson }
  - id: door
    transport: coap # via the border router
    address: "fe80::1"
  # - id: spare
  #   transport: ble

# end of file
`;

describe('config edits', () => {
  it('adds, renames and removes a device in the example config leaving every other byte alone', () => {
    const at = example.indexOf('devices: []\n');
    expect(at).toBeGreaterThan(0);
    const before = example.slice(0, at);
    const after = example.slice(at + 'devices: []\n'.length);

    const added = edit(example, add({ id: 'kitchen', transport: 'ble', match: { name: 'ESP peripheral' } }));
    expect(added).toBe(
      `${before}devices:\n  - id: kitchen\n    transport: ble\n    match:\n      name: ESP peripheral\n${after}`,
    );
    const renamed = edit(added, rename('kitchen', { to: 'kitchen-env', name: 'Kitchen: west' }));
    expect(renamed).toBe(
      `${before}devices:\n  - id: kitchen-env\n    transport: ble\n    match:\n      name: ESP peripheral\n    name: "Kitchen: west"\n${after}`,
    );
    expect(edit(renamed, remove('kitchen-env'))).toBe(example);
    // The same edits on one parsed document.
    expect(edit(example, add({ id: 'a', transport: 'ble' }), rename('a', { to: 'b' }), remove('b'))).toBe(example);
  });

  it('keeps long flow mappings, hex numbers and comments between entries in a block list', () => {
    const added = edit(listed, add({ id: 'kitchen', transport: 'ble' }));
    expect(added).toBe(listed.replace('  # - id: spare', '  - id: kitchen\n    transport: ble\n  # - id: spare'));
    expect(edit(added, remove('kitchen'))).toBe(listed);

    expect(edit(listed, remove('door'))).toBe(
      listed.replace('  - id: door\n    transport: coap # via the border router\n    address: "fe80::1"\n', ''),
    );
    expect(edit(listed, remove('uart-sensor'))).toBe(listed.replace(/ {2}- \{ id: uart-sensor.*\n/, ''));
    expect(edit(listed, rename('uart-sensor', { to: 'uart-1', name: 'Bench, left' }))).toBe(
      listed.replace(
        '{ id: uart-sensor, transport: serial, match: { usb: { vid: 0x2fe3, pid: 0x0001 } }, framing: ndjson }',
        '{ id: uart-1, transport: serial, match: { usb: { vid: 0x2fe3, pid: 0x0001 } }, framing: ndjson, name: "Bench, left" }',
      ),
    );
    expect(edit(listed, rename('door', { name: 'Front door' }))).toBe(
      listed.replace('    address: "fe80::1"\n', '    address: "fe80::1"\n    name: Front door\n'),
    );
    const named =
      'devices:\n  - id: a\n    name: Old # shown on the dashboard\n    transport: ble\n  - id: b\n    name:\n';
    expect(edit(named, rename('a', { name: 'New' }), rename('b', { name: 'B' }))).toBe(
      'devices:\n  - id: a\n    name: New # shown on the dashboard\n    transport: ble\n  - id: b\n    name: B\n',
    );
  });

  it('keeps the comments under a `devices:` that holds only commented-out examples', () => {
    const text = 'version: 1\ndevices:\n  # - { id: a, transport: ble }\n  # - { id: b, transport: coap }\n# end\n';
    const added = edit(text, add({ id: 'c', transport: 'ble' }));
    expect(added).toBe(
      'version: 1\ndevices:\n  - id: c\n    transport: ble\n  # - { id: a, transport: ble }\n  # - { id: b, transport: coap }\n# end\n',
    );
    // With no entries left the list is written as `[]`; the comments stay.
    expect(edit(added, remove('c'))).toBe(text.replace('devices:', 'devices: []'));
    expect(edit('devices: # none yet\n', add({ id: 'c', transport: 'ble' }))).toBe(
      'devices: # none yet\n  - id: c\n    transport: ble\n',
    );
  });

  it('edits flow sequences in place', () => {
    const empty = 'version: 1\ndevices: [] # onboarded below\nhttp: { port: 8080 }\n';
    const added = edit(empty, add({ id: 'a', transport: 'ble' }));
    expect(added).toBe('version: 1\ndevices: # onboarded below\n  - id: a\n    transport: ble\nhttp: { port: 8080 }\n');
    expect(edit(added, remove('a'))).toBe(empty);

    const flow = 'devices: [ { id: a, transport: ble }, { id: b, transport: coap } ] # two\n';
    const three = edit(flow, add({ id: 'c', transport: 'serial', match: { usb: { vid: 12259 } } }));
    expect(three).toBe(
      'devices: [ { id: a, transport: ble }, { id: b, transport: coap }, { id: c, transport: serial, match: { usb: { vid: 12259 } } } ] # two\n',
    );
    expect(edit(three, remove('c'))).toBe(flow);
    expect(edit(flow, remove('a'))).toBe('devices: [ { id: b, transport: coap } ] # two\n');
    expect(edit(flow, remove('a'), remove('b'))).toBe('devices: [] # two\n');
    // A CoAP device keeps the id its firmware sends in /ps/<id>.
    expect(edit(flow, rename('b', { to: 'b2', name: 'x, y' }))).toBe(
      'devices: [ { id: a, transport: ble }, { id: b2, transport: coap, name: "x, y", ps_id: b } ] # two\n',
    );
    expect(edit(flow, rename('a', { to: 'a2' }))).toBe(
      'devices: [ { id: a2, transport: ble }, { id: b, transport: coap } ] # two\n',
    );
    // Too long for one flow line in the `yaml` renderer: JSON, which is YAML too.
    const long = { id: 'd', transport: 'ble', name: 'n'.repeat(90) };
    expect(edit(flow, add(long))).toContain(`, ${JSON.stringify(long)} ]`);
  });

  it('appends a devices list to a file without one', () => {
    const entry = { id: 'a', transport: 'ble' };
    expect(edit('# site\nversion: 1 # format\n', add(entry))).toBe(
      '# site\nversion: 1 # format\ndevices:\n  - id: a\n    transport: ble\n',
    );
    expect(edit('version: 1', add(entry))).toBe('version: 1\ndevices:\n  - id: a\n    transport: ble\n');
    expect(edit('', add(entry))).toBe('devices:\n  - id: a\n    transport: ble\n');
    expect(edit('# only a comment\n', add(entry))).toBe('# only a comment\ndevices:\n  - id: a\n    transport: ble\n');
  });

  it('keeps CRLF line ends', () => {
    const crlf = listed.replaceAll('\n', '\r\n');
    const added = edit(crlf, add({ id: 'kitchen', transport: 'ble', notes: 'line 1\nline 2' }));
    expect(added.replaceAll('\r\n', '')).not.toContain('\n');
    expect(added).toContain(
      '  - id: kitchen\r\n    transport: ble\r\n    notes: |-\r\n      line 1\r\n      line 2\r\n',
    );
    const renamed = edit(added, rename('kitchen', { name: 'Kitchen' }));
    expect(renamed.replaceAll('\r\n', '')).not.toContain('\n');
    expect(edit(renamed, remove('kitchen'))).toBe(crlf);
    expect(edit('version: 1\r\ndevices: []\r\n', add({ id: 'a', transport: 'ble' }), remove('a'))).toBe(
      'version: 1\r\ndevices: []\r\n',
    );
  });

  it('writes ${ in values as $${, so they load back as sent instead of reading files or variables', () => {
    const sent = '${HOME} ${file:/etc/hostname} $${X}';
    const added = edit(example, add({ id: 'a', transport: 'ble', name: sent, match: { name: '${USER}' } }));
    expect(added).toContain('name: $${HOME} $${file:/etc/hostname} $$${X}');
    const loaded = parseConfigText(added, 'g.yaml', { HOME: '/root', USER: 'root', X: 'x' });
    expect(loaded.devices[0]).toMatchObject({ name: sent, match: { name: '${USER}' } });
    const renamed = edit(added, rename('a', { name: '${file:/etc/shadow}' }));
    expect(parseConfigText(renamed, 'g.yaml', {}).devices[0]?.name).toBe('${file:/etc/shadow}');
  });

  it('rejects what it cannot do and never leaves a broken file', () => {
    const doc = parseForEdit(listed);
    expect(() => addDevice(doc, { id: 'door', transport: 'ble' })).toThrow('device "door" already exists');
    expect(() => removeDevice(doc, 'ghost')).toThrow('unknown device "ghost"');
    expect(() => renameDevice(doc, 'ghost', { to: 'x' })).toThrow('unknown device "ghost"');
    expect(() => renameDevice(doc, 'door', { to: 'uart-sensor' })).toThrow('device "uart-sensor" already exists');
    expect(editedText(doc)).toBe(listed);
    expect(() => parseForEdit('a: [')).toThrow(ConfigEditError);
    expect(() => parseForEdit('- a\n')).toThrow('the config file is not a mapping');
    expect(() => edit('devices: 5\n', add({ id: 'a', transport: 'ble' }))).toThrow(
      '"devices" in the config file is not a list',
    );
    // Appending `devices:` after a flow mapping would not parse: the splice is checked before it is kept.
    const flowRoot = parseForEdit('{ version: 1 }\n');
    expect(() => addDevice(flowRoot, { id: 'a', transport: 'ble' })).toThrow(ConfigEditError);
    expect(editedText(flowRoot)).toBe('{ version: 1 }\n');
  });

  it('sets, adds and removes keys of a block entry, leaving every other line as written', () => {
    const text = `devices:
  - id: door
    transport: coap # via the border router
    address: "fe80::1" # old board
    resources:
      temp: { path: /temp, observe: true }
      # humidity comes later
      hum:
        path: /hum
    discover: true
  # - id: spare
`;
    expect(edit(text, options('door', { address: 'fe80::2%lowpan0' }))).toBe(
      text.replace('"fe80::1" # old board', 'fe80::2%lowpan0 # old board'),
    );
    expect(edit(text, options('door', { smp: { port: 1337 } }))).toBe(
      text.replace('    discover: true\n', '    discover: true\n    smp: { port: 1337 }\n'),
    );
    expect(edit(text, options('door', { discover: null }))).toBe(text.replace('    discover: true\n', ''));
    const resources = edit(
      text,
      options('door', { resources: { temp: null, hum: null, led: { path: '/led', method: 'PUT' } } }),
    );
    expect(resources).toBe(
      text.replace(/ {4}resources:\n[\s\S]*?path: \/hum\n/, '    resources: { led: { path: /led, method: PUT } }\n'),
    );
    expect(edit(text, options('door', { resources: null }))).toBe(
      text.replace(/ {4}resources:\n[\s\S]*?path: \/hum\n/, ''),
    );
  });

  it('merges objects key by key at any depth, replaces arrays, and removes what is set to null', () => {
    const text = `devices:
  - id: node
    transport: coap
    address: "fd00::1"
    smp: { port: 1337, timeout_ms: 9000, retries: 1 }
    observe: [/a, /b]
`;
    expect(edit(text, options('node', { smp: { retries: 3 } }))).toBe(text.replace('retries: 1 }', 'retries: 3 }'));
    expect(edit(text, options('node', { smp: { timeout_ms: null } }))).toBe(text.replace(' timeout_ms: 9000,', ''));
    expect(edit(text, options('node', { observe: ['/c'] }))).toBe(text.replace('[/a, /b]', '[ /c ]'));
    // Nothing to change: nothing written.
    expect(edit(text, options('node', { smp: { port: 1337 } }))).toBe(text);
  });

  it('sets, adds and removes keys of a flow entry', () => {
    expect(edit(listed, options('uart-sensor', { framing: 'kv', baud_rate: 9600 }))).toBe(
      listed.replace('framing: ndjson }', 'framing: kv, baud_rate: 9600 }'),
    );
    expect(edit(listed, options('uart-sensor', { framing: null }))).toBe(listed.replace(', framing: ndjson', ''));
    expect(edit(listed, options('uart-sensor', { match: { usb: { vid: 1 } } }))).toBe(
      listed.replace('{ usb: { vid: 0x2fe3, pid: 0x0001 } }', '{ usb: { vid: 1, pid: 1 } }'),
    );
  });

  it('refuses to change the id or transport, and an unknown device', () => {
    expect(() => edit(listed, options('door', { id: 'x' }))).toThrow(ConfigEditError);
    expect(() => edit(listed, options('door', { transport: 'ble' }))).toThrow(/cannot be changed here/);
    expect(() => edit(listed, options('nope', { name: 'x' }))).toThrow(/unknown device "nope"/);
  });

  it('writes ${ in a value so that it loads back as sent', () => {
    const changed = edit(listed, options('door', { name: '${env:HOME}' }));
    const config = parseConfigText(changed, '/tmp/x.yaml', { HOME: '/root' });
    expect(config.devices.find((d) => d.id === 'door')?.name).toBe('${env:HOME}');
  });
});

describe('options edits (bridge/request/options)', () => {
  const config = `# site config
gateway:
  id: pi # the living room
  log_level: info
api: { property_topics: false }
devices: []
`;
  function set(text: string, change: Record<string, unknown>): string {
    const doc = parseForEdit(text);
    setOptions(doc, change);
    return editedText(doc);
  }

  it('writes a value where it stands, adds a key to its section and a missing section at the end', () => {
    expect(set(config, { gateway: { log_level: 'debug' } })).toBe(
      config.replace('log_level: info', 'log_level: debug'),
    );
    expect(set(config, { api: { max_state_properties: 64 } })).toBe(
      config.replace('property_topics: false }', 'property_topics: false, max_state_properties: 64 }'),
    );
    expect(set(config, { gateway: { log_levels: { coap: 'debug' } } })).toBe(
      config.replace('  log_level: info\n', '  log_level: info\n  log_levels: { coap: debug }\n'),
    );
    expect(set(config, { homeassistant: { enabled: true } })).toBe(`${config}homeassistant: { enabled: true }\n`);
    expect(set(config, { gateway: { log_level: null } })).toBe(config.replace('  log_level: info\n', ''));
  });

  it('refuses devices and version', () => {
    expect(() => set(config, { devices: [] })).toThrow(
      '"devices" cannot be changed with options: device/add, device/remove, device/rename and device/options change ' +
        'the devices',
    );
    expect(() => set(config, { version: 1 })).toThrow(
      '"version" cannot be changed with options: it says which format the file is written in, not a setting',
    );
  });
});

describe('edits of a file with references inside { }', () => {
  it('keep them as written, unquoted, in the edited entry and elsewhere', () => {
    const text = [
      'broker:',
      '  listeners:',
      '    - { type: mqtt, host: 127.0.0.1, port: ${MQTT_PORT} }',
      'devices:',
      '  - { id: door, transport: coap, address: "::1", port: ${DOOR_PORT:-5683} }',
      '',
    ].join('\n');
    const edited = edit(text, options('door', { description: 'front door' }), add({ id: 'hall', transport: 'coap' }));
    expect(edited).toContain('    - { type: mqtt, host: 127.0.0.1, port: ${MQTT_PORT} }\n');
    expect(edited).toContain('port: ${DOOR_PORT:-5683}');
    const config = parseConfigText(edited, 'g.yaml', { MQTT_PORT: '1999' });
    expect(config.broker.listeners[0]?.port).toBe(1999);
    expect(config.devices.map((d) => [d.id, (d as { port?: number }).port, d.description])).toEqual([
      ['door', 5683, 'front door'],
      ['hall', 5683, undefined],
    ]);
  });
});
