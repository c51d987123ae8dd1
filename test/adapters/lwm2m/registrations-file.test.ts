// lwm2m-registrations.json: what is saved reads back as the same registrations; a bad entry costs itself only.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLinkFormat } from '../../../adapters/coap/lwm2m/link-format.js';
import type { Registration } from '../../../adapters/coap/lwm2m/registration-store.js';
import { readRegistrationsFile, serializeRegistrations } from '../../../adapters/coap/lwm2m/registrations-file.js';

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = '';
});

function registration(endpoint: string, links: string): Registration {
  const parsed = parseLinkFormat(links);
  if (!parsed.ok) throw new Error(parsed.error);
  return {
    id: '0123456789abcdef01234567',
    endpoint,
    version: '1.1',
    lifetime: 86400,
    binding: 'U',
    queueMode: true,
    peer: { address: 'fe80::1%lowpan0', port: 5683 },
    links: parsed.value,
    contentFormat: 112,
    registeredAt: 1_700_000_000_000,
    lastUpdate: 1_700_000_100_000,
    lastHeard: 123,
    lastHeardAt: 1_700_000_200_000,
    deviceInfo: { manufacturer: 'Zephyr', model: 'nRF52840' },
    deviceId: 'node1',
  };
}

describe('lwm2m-registrations.json', () => {
  it('reads back what was saved (links with attributes, any endpoint name); a bad entry is named and dropped', async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-file-'));
    const file = join(dir, 'lwm2m-registrations.json');
    const regs = [
      registration('zephyr-node1', '</>;rt="oma.lwm2m";ct="110,112",</1/0>,</3/0>;ver=1.1,</3303/0>;obs'),
      registration('__proto__', '</3/0>'),
    ];
    const json = JSON.parse(serializeRegistrations(regs));
    json.registrations.push({ endpoint: 'broken', id: 'not hex' });
    await writeFile(file, JSON.stringify(json));
    const read = await readRegistrationsFile(file);
    expect(read.state).toBe('read');
    if (read.state !== 'read') return;
    const { lastHeard: _heard, deviceId: _device, ...saved } = regs[0] as Registration;
    expect(read.registrations[0]).toEqual({ ...saved, links: JSON.parse(JSON.stringify(saved.links)) });
    expect(read.registrations.map((r) => r.endpoint)).toEqual(['zephyr-node1', '__proto__']);
    expect(read.invalid).toEqual(['broken']);
  });

  it('reads a file of an earlier version, without last_heard: last_update stands for when the client was last heard', async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-file-'));
    const file = join(dir, 'lwm2m-registrations.json');
    const json = JSON.parse(serializeRegistrations([registration('zephyr-node1', '</3/0>')]));
    delete json.registrations[0].last_heard;
    await writeFile(file, JSON.stringify(json));
    const read = await readRegistrationsFile(file);
    expect(read).toMatchObject({ state: 'read', invalid: [] });
    if (read.state !== 'read') return;
    expect(read.registrations[0]).toMatchObject({ lastUpdate: 1_700_000_100_000, lastHeardAt: 1_700_000_100_000 });
  });

  it('moves a file that is not one of ours aside', async () => {
    dir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-file-'));
    const file = join(dir, 'lwm2m-registrations.json');
    await writeFile(file, '{"format": 2, "registrations": []}');
    expect(await readRegistrationsFile(file)).toMatchObject({ state: 'unusable', movedTo: `${file}.corrupt` });
    expect((await stat(`${file}.corrupt`)).isFile()).toBe(true);
    expect(await readRegistrationsFile(file)).toEqual({ state: 'none' });
  });
});
