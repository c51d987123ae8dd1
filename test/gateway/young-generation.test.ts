// The start-up hold on V8's young generation (gateway/cli/young-generation.ts) relies on V8 reading
// --semi-space-growth-factor at every scavenge. These checks run in a fresh Node process, so they show on the
// Node version under test that the run-time flag takes effect, that releasing it restores growth, and that
// the operator's own flags and ZEPHYR2MQTT_HEAP_TUNING=off turn it off.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const MODULE = fileURLToPath(new URL('../../gateway/cli/young-generation.ts', import.meta.url));

interface Sizes {
  initial: number;
  held: number;
  released: number;
}

/** In a child: new-space size at first, after ~25 MB of long-lived allocation while held, and after release. */
function run(env: Record<string, string> = {}, nodeFlags: string[] = []): Sizes {
  const script = `
    import v8 from 'node:v8';
    const { holdYoungGeneration, releaseYoungGeneration } = await import(${JSON.stringify(MODULE)});
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const keep = [];
    const fill = () => { for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x' + i }); };
    const initial = newSpace();
    holdYoungGeneration();
    fill();
    const held = newSpace();
    releaseYoungGeneration();
    fill();
    fill();
    console.log(JSON.stringify({ initial, held, released: newSpace() }));
  `;
  const out = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', ZEPHYR2MQTT_HEAP_TUNING: '', ...env },
    timeout: 30_000,
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) throw new Error(`child failed: ${out.stderr}`);
  return JSON.parse(line) as Sizes;
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation at its size while held, and lets it grow again once released', () => {
    const s = run();
    expect(s.held).toBe(s.initial);
    expect(s.released).toBeGreaterThan(s.held);
  });

  it('without the hold (ZEPHYR2MQTT_HEAP_TUNING=off) the same allocation grows it', () => {
    const s = run({ ZEPHYR2MQTT_HEAP_TUNING: 'off' });
    expect(s.held).toBeGreaterThan(s.initial);
  });

  it("leaves the operator's own young-generation flag alone", () => {
    const s = run({}, ['--semi-space-growth-factor=4']);
    expect(s.held).toBeGreaterThan(s.initial);
  });
});
