// The firmware check the gateway runs by itself (at start-up, for devices a reload adds): the newest image of each
// updatable device's firmware/<id>/ becomes its update.latest_version, from image headers only, device after device;
// devices without a directory are left alone, and a bad directory is logged once, not thrown.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StateValues } from '../../gateway/adapter.js';
import { FirmwareCheck } from '../../gateway/firmware-check.js';
import { buildImage } from '../adapters/serial/mcuboot-builder.js';

const image = (version: [number, number, number, number]) =>
  buildImage({ body: Buffer.alloc(1000, version[1]), version });

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'firmware-check-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** firmware/<id>/ of the serial adapter, with these files. */
function putImages(id: string, files: Record<string, Buffer | string>): string {
  const dir = join(dataDir, 'adapters', 'serial', 'firmware', id);
  mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes);
  return dir;
}

/** A check over `states` (each device's state, as the registry holds it) that records what it publishes and logs. */
function checker(states: Record<string, StateValues>, updatable: (id: string) => boolean = () => true) {
  const published: Array<{ id: string; values: StateValues }> = [];
  const logs: Array<Record<string, unknown>> = [];
  const check = new FirmwareCheck({
    dataDir,
    logger: pino({ level: 'info', base: undefined }, { write: (line: string) => logs.push(JSON.parse(line)) }),
    updatableTransport: (id) => (id in states && updatable(id) ? 'serial' : undefined),
    state: (id) => states[id],
    publishStatus: (id, values) => {
      published.push({ id, values });
      states[id] = { ...states[id], ...values };
    },
  });
  return { check, published, logs };
}

describe('firmware check without a request', () => {
  it("publishes the highest version of each device's own directory, and nothing for a device without one", async () => {
    putImages('board', {
      'a-1.9.0.bin': image([1, 9, 0, 0]),
      'b-1.10.0.bin': image([1, 10, 0, 0]),
      'README.txt': 'notes',
    });
    putImages('sensor', { 'fw.bin': image([2, 0, 0, 0]) });
    putImages('not-updatable', { 'fw.bin': image([3, 0, 0, 0]) });
    const { check, published, logs } = checker(
      { board: { temperature: 21 }, sensor: {}, 'no-dir': {}, 'not-updatable': {} },
      (id) => id !== 'not-updatable',
    );
    await check.check(['board', 'no-dir', 'sensor', 'not-updatable', 'unknown']);
    expect(published).toEqual([
      { id: 'board', values: { update: { state: 'available', latest_version: '1.10.0' } } },
      { id: 'sensor', values: { update: { state: 'available', latest_version: '2.0.0' } } },
    ]);
    expect(logs).toEqual([]);
  });

  it('compares with the installed version a check or update read, and keeps a state that has this version', async () => {
    putImages('newer', { 'fw.bin': image([1, 4, 2, 0]) });
    putImages('same', { 'fw.bin': image([1, 4, 2, 0]) });
    putImages('failed', { 'fw.bin': image([1, 4, 2, 0]) });
    putImages('updating', { 'fw.bin': image([1, 5, 0, 0]) });
    putImages('older', { 'fw.bin': image([1, 0, 0, 0]) });
    const failed = { state: 'failed', installed_version: '1.0.0', latest_version: '1.4.2', error: 'timeout' };
    const updating = { state: 'updating', progress: 10, installed_version: '1.0.0', latest_version: '1.4.2' };
    const { check, published } = checker({
      newer: { update: { state: 'idle', installed_version: '1.2.0', latest_version: '1.2.0' } },
      same: { update: { state: 'available', installed_version: '1.0.0', latest_version: '1.4.2' } },
      failed: { update: failed },
      updating: { update: updating },
      older: { update: { state: 'idle', installed_version: '1.2.0', latest_version: '1.2.0' } },
    });
    await check.check(['newer', 'same', 'failed', 'updating', 'older']);
    expect(published).toEqual([
      { id: 'newer', values: { update: { state: 'available', installed_version: '1.2.0', latest_version: '1.4.2' } } },
      { id: 'older', values: { update: { state: 'idle', installed_version: '1.2.0', latest_version: '1.0.0' } } },
    ]);
  });

  it('logs a directory it cannot use once, goes on with the next device, and never rejects', async () => {
    putImages('crowded', Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`r${i}.bin`, image([1, 0, i, 0])])));
    const notes = putImages('notes', { 'README.txt': 'no image here' });
    putImages('broken', { 'truncated.bin': image([1, 2, 0, 0]).subarray(0, 20), 'good.bin': image([1, 1, 0, 0]) });
    // A regular file where the directory should be, and a link out of the firmware directory.
    writeFileSync(join(dataDir, 'adapters', 'serial', 'firmware', 'plain'), image([9, 0, 0, 0]));
    writeFileSync(join(dataDir, 'outside.bin'), image([9, 0, 0, 0]));
    putImages('escape', {});
    symlinkSync(join(dataDir, 'outside.bin'), join(dataDir, 'adapters', 'serial', 'firmware', 'escape', 'fw.bin'));
    const states = { crowded: {}, notes: {}, broken: {}, plain: {}, escape: {} };
    const { check, published, logs } = checker(states);
    await check.check(Object.keys(states));
    await check.check(['crowded', 'notes']); // a reload: the same problems are not logged again
    expect(published).toEqual([{ id: 'broken', values: { update: { state: 'available', latest_version: '1.1.0' } } }]);
    expect(logs.map((l) => [l.device, l.msg, l.err ?? l.dir])).toEqual([
      [
        'crowded',
        'device "crowded": its firmware directory could not be checked',
        `${join(dataDir, 'adapters', 'serial', 'firmware', 'crowded')} holds 65 files, more than 64: keep the device's releases there`,
      ],
      ['notes', 'device "notes": no MCUboot image among the files of its firmware directory', notes],
    ]);
  });

  it('checks devices one after the other, each once, also those queued while it runs; nothing after stop()', async () => {
    for (const id of ['a', 'b', 'c', 'd']) putImages(id, { 'fw.bin': image([1, 0, 0, 0]) });
    const { check, published } = checker({ a: {}, b: {}, c: {}, d: {} });
    const first = check.check(['a', 'b', 'a']);
    const second = check.check(['c', 'b']);
    expect(second).toBe(first); // one run drains the queue
    await first;
    expect(published.map((p) => p.id)).toEqual(['a', 'b', 'c']);
    check.stop();
    await check.check(['d']);
    expect(published.map((p) => p.id)).toEqual(['a', 'b', 'c']);
  });
});
