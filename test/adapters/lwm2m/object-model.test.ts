import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadObjectModel } from '../../../adapters/coap/lwm2m/object-model.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lwm2m-objects-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('LwM2M object model', () => {
  it('ships the objects Zephyr samples use', () => {
    const model = loadObjectModel();
    expect(
      model
        .objects()
        .map((o) => o.id)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 3, 5, 3200, 3201, 3303, 3304, 3311, 3340, 3347]);
    expect(model.propertyOf({ obj: 3303, inst: 0, res: 5700 })).toBe('temperature');
    expect(model.propertyOf({ obj: 3304, inst: 2, res: 5700 })).toBe('humidity_2');
    expect(model.pathOfProperty('on_off')).toEqual({ obj: 3311, inst: 0, res: 5850 });
    expect(model.pathOfProperty('temperature_1')).toEqual({ obj: 3303, inst: 1, res: 5700 });
    expect(model.pathOfProperty('nothing')).toBeUndefined();
    expect(model.typeOf(3, 4)).toBe('none');
    expect(model.defaultObserved(3303)).toEqual([5700]);
  });

  it('adds objects from objects_dir, replacing a built-in one with the same id', async () => {
    const voltage = {
      id: 3316,
      name: 'Voltage',
      multiple: true,
      resources: {
        '5700': { name: 'Sensor Value', type: 'float', operations: 'R', property: 'voltage', observe: true },
      },
    };
    const temperature = {
      id: 3303,
      name: 'Temperature',
      multiple: true,
      resources: { '5700': { name: 'Sensor Value', type: 'float', operations: 'R', property: 'temp_c' } },
    };
    const dir = await dirWith({ '3316.json': JSON.stringify(voltage), '3303.json': JSON.stringify(temperature) });
    const model = loadObjectModel(dir);
    expect(model.propertyOf({ obj: 3316, inst: 0, res: 5700 })).toBe('voltage');
    expect(model.defaultObserved(3316)).toEqual([5700]);
    expect(model.propertyOf({ obj: 3303, inst: 0, res: 5700 })).toBe('temp_c');
    expect(model.pathOfProperty('temp_c')).toEqual({ obj: 3303, inst: 0, res: 5700 });
    expect(model.pathOfProperty('temperature')).toBeUndefined();
  });

  it('names the broken file', async () => {
    const bad = await dirWith({ 'broken.json': '{"id": 9' });
    expect(() => loadObjectModel(bad)).toThrow(/broken\.json/);
    const invalid = await dirWith({
      'odd.json': JSON.stringify({ id: 1, name: 'x', multiple: false, resources: { a: {} } }),
    });
    expect(() => loadObjectModel(invalid)).toThrow(/odd\.json/);
  });
});
