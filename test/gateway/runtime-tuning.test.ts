// How `zephyr2mqtt run` tunes V8 (gateway/runtime/) relies on V8 reading its flags at run time: the young
// generation's growth factor at every scavenge, the old generation's growing percent at every full collection,
// the compiler flags whenever a function tiers up. Each check runs in a fresh Node process, so it shows on the
// Node version under test that the run-time setting takes effect; a Node whose V8 stops honouring one fails here.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RUNTIME = fileURLToPath(new URL('../../gateway/runtime/', import.meta.url));

/** Runs an ESM script in a fresh node (with tsx) and returns the JSON object it printed last. */
function child<T>(script: string, nodeFlags: string[] = [], env: Record<string, string> = {}): T {
  const prelude = `
    import v8 from 'node:v8';
    const runtime = (name) => import(${JSON.stringify(RUNTIME)} + name + '.ts');
    const space = (name) => v8.getHeapSpaceStatistics().find((s) => s.space_name === name).space_size;
  `;
  const out = spawnSync(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', prelude + script],
    {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '', ZEPHYR2MQTT_HEAP_TUNING: '', ...env },
      timeout: 60_000,
    },
  );
  const line = out.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .at(-1);
  if (!line) throw new Error(`child failed (${out.status}): ${out.stderr}`);
  return JSON.parse(line) as T;
}

/** ~25 MB of long-lived objects per call: what makes V8 grow its young generation. */
const FILL = `const keep = []; const fill = () => { for (let i = 0; i < 200000; i++) keep.push({ i, s: 'x' + i }); };`;

describe('young generation', () => {
  const script = (hold: boolean) => `
    ${FILL}
    const { holdYoungGeneration } = await runtime('young-generation');
    const initial = space('new_space');
    if (${hold}) holdYoungGeneration();
    for (let round = 0; round < 4; round++) fill();
    console.log(JSON.stringify({ initial, after: space('new_space') }));
  `;
  const run = (hold: boolean) => child<{ initial: number; after: number }>(script(hold));

  it('stays at its initial size while held, where the same allocation grows it otherwise', () => {
    const held = run(true);
    expect(held.after).toBe(held.initial);
    const free = run(false);
    expect(free.after).toBeGreaterThan(free.initial);
  });
});

describe('old generation', () => {
  // Garbage that survives a scavenge or two (a sliding window of objects) ends up in old space.
  const script = (percent: string) => `
    if (${percent}) (await runtime('old-generation')).limitOldGenerationGrowth(${percent});
    ${FILL}
    fill();
    let window = [];
    let most = 0;
    for (let round = 0; round < 300; round++) {
      for (let i = 0; i < 20000; i++) window.push({ round, i, s: 'g' + i });
      if (window.length > 60000) window = window.slice(-20000);
      most = Math.max(most, space('old_space'));
    }
    console.log(JSON.stringify({ most }));
  `;

  it('is collected before much garbage piles up in it', () => {
    const limited = child<{ most: number }>(script('10')).most;
    const defaults = child<{ most: number }>(script('0')).most;
    expect(limited).toBeLessThan(defaults * 0.6);
  });
});

describe('start-up garbage', () => {
  // Old space full of pages that each keep one live object in fifty: a plain full collection frees the dead
  // objects and keeps the pages, a compacting one moves the survivors together and releases the pages.
  const script = `
    const { compactAfterStartUp } = await runtime('start-up-garbage');
    const { collectGarbage } = await runtime('collector');
    const fragment = () => {
      const all = [];
      for (let i = 0; i < 300000; i++) all.push({ i, s: 'start-up ' + i });
      collectGarbage();
      collectGarbage();
      const survivors = all.filter((_, i) => i % 50 === 0);
      all.length = 0;
      return survivors;
    };
    const kept = [fragment()];
    const compacted = { before: space('old_space') };
    compactAfterStartUp(0);
    // Timers of the same delay run in the order they were set: this one after the compaction's.
    await new Promise((r) => setTimeout(r, 0));
    compacted.after = space('old_space');
    // The flag is cleared again: later full collections follow V8's own heuristics.
    kept.push(fragment());
    const plain = { before: space('old_space') };
    collectGarbage();
    plain.after = space('old_space');
    console.log(JSON.stringify({ compacted, plain, survivors: kept.flat().length }));
  `;
  type Sizes = { before: number; after: number };

  it('one compacting collection returns the pages that a plain one keeps, and only that one compacts', () => {
    const s = child<{ compacted: Sizes; plain: Sizes; survivors: number }>(script);
    expect(s.survivors).toBe(12000);
    expect(s.compacted.after).toBeLessThan(s.compacted.before * 0.5);
    expect(s.plain.after).toBeGreaterThan(s.plain.before * 0.5);
  });
});

describe('optimizing compilers', () => {
  // %GetOptimizationStatus bit 4 (16): the function runs optimized code.
  const script = (messagesFlow: boolean) => `
    const compilers = await runtime('optimizing-compilers');
    const optimized = (f) => (%GetOptimizationStatus(f) & 16) !== 0;
    const hot = (n) => { let s = 0; for (let i = 0; i < n; i++) s += i % 7; return s; };
    const turn = () => new Promise((r) => setImmediate(r));
    compilers.pauseOptimizingCompilers();
    // Device messages: a trickle at rest (one per rest round of at least 5 ms, at most ~200/s, against a threshold
    // of 1,000/s).
    let messages = 0;
    compilers.resumeOptimizingCompilersUnderLoad(() => messages, {
      busy: 0.3, windows: 3, veryBusy: 0.9, windowMs: 50, messagesPerSecond: 1000,
    });
    // At rest (the loop mostly waits), with one busy moment: a hot function stays unoptimized, the compilers off.
    const rest = async (rounds, perRound = 1) => { for (let i = 0; i < rounds; i++) { messages += perRound; for (let j = 0; j < 200; j++) hot(100); await new Promise((r) => setTimeout(r, 5)); } };
    await rest(20);
    const moment = Date.now() + 25; while (Date.now() < moment) hot(100);
    await rest(20);
    const atRest = { optimized: optimized(hot), paused: compilers.optimizingCompilersPaused() };
    const until = Date.now() + 10000;
    if (${messagesFlow}) {
      // Still at rest, but devices send 20 messages every 5 ms round (~4,000/s) until the compilers resume (bounded).
      while (compilers.optimizingCompilersPaused() && Date.now() < until) await rest(1, 20);
    } else {
      // Busy: the same work without waits, until the watch resumes the compilers (bounded).
      while (compilers.optimizingCompilersPaused() && Date.now() < until) { for (let j = 0; j < 2000; j++) hot(100); await turn(); }
    }
    for (let j = 0; j < 20000; j++) hot(100);
    console.log(JSON.stringify({ atRest, busy: { optimized: optimized(hot), paused: compilers.optimizingCompilersPaused() } }));
  `;

  const flags = ['--allow-natives-syntax', '--no-concurrent-recompilation'];

  it('stay off at rest, and optimize hot code once the event loop is busy', () => {
    const s = child<unknown>(script(false), flags);
    expect(s).toEqual({ atRest: { optimized: false, paused: true }, busy: { optimized: true, paused: false } });
  });

  it('resume when devices send a steady stream of messages, though the event loop stays at rest', () => {
    const s = child<unknown>(script(true), flags);
    expect(s).toEqual({ atRest: { optimized: false, paused: true }, busy: { optimized: true, paused: false } });
  });
});

describe('tuneRuntime', () => {
  const script = `
    ${FILL}
    const { tuneRuntime } = await runtime('tuning');
    const initial = space('new_space');
    const tuning = tuneRuntime();
    fill();
    const held = space('new_space');
    tuning.started();
    console.log(JSON.stringify({ initial, held }));
  `;

  it('holds the young generation while the gateway starts', () => {
    const s = child<{ initial: number; held: number }>(script);
    expect(s.held).toBe(s.initial);
  });

  it('leaves V8 alone with ZEPHYR2MQTT_HEAP_TUNING=off', () => {
    const s = child<{ initial: number; held: number }>(script, [], { ZEPHYR2MQTT_HEAP_TUNING: 'off' });
    expect(s.held).toBeGreaterThan(s.initial);
  });

  it("leaves the operator's own young-generation flag alone", () => {
    const s = child<{ initial: number; held: number }>(script, ['--semi-space-growth-factor=4']);
    expect(s.held).toBeGreaterThan(s.initial);
  });
});
