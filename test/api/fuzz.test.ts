// Untrusted bytes reaching the core: bridge request payloads and config text. Random and mutated inputs must
// give a typed result (an error envelope / a ConfigError), never an exception escaping.
import { describe, expect, it } from 'vitest';
import { RequestError, RequestRouter } from '../../gateway/api/router.js';
import { responseEnvelope } from '../../gateway/api/topics.js';
import { ConfigError, parseConfigText } from '../../gateway/config/load.js';

/** Small deterministic PRNG so a failure can be reproduced from the seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(input: string, rand: () => number): string {
  const chars = [...input];
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const op = rand();
    const ch = String.fromCharCode(Math.floor(rand() * 128));
    if (op < 0.4) chars.splice(at, 1);
    else if (op < 0.8) chars.splice(at, 0, ch);
    else chars[at] = ch;
  }
  return chars.join('');
}

const ITERATIONS = 2000;

describe('fuzz: bridge request payloads', () => {
  const router = new RequestRouter<null>().register('echo', (_ctx, data) => {
    if (typeof data.value === 'number' && data.value < 0) throw new RequestError('negative');
    return data;
  });
  const seeds = ['{"transaction":"t1","value":1}', '{"value":[1,{"a":null}],"transaction":7}', 'true', '"x"', '{}'];

  it('always answers with a valid envelope, echoing a string or number transaction only', async () => {
    const rand = rng(0xc0ffee);
    for (let i = 0; i < ITERATIONS; i++) {
      const payload =
        i % 2 === 0
          ? Buffer.from(mutate(seeds[i % seeds.length] ?? '', rand))
          : Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      const res = await router.dispatch(null, i % 3 === 0 ? 'missing' : 'echo', payload);
      expect(responseEnvelope.safeParse(res).success, payload.toString('hex')).toBe(true);
      if (res.transaction !== undefined) expect(['string', 'number']).toContain(typeof res.transaction);
    }
  });
});

describe('fuzz: config text', () => {
  const base = `version: 1
gateway: { id: fuzz, base_topic: zephyr2mqtt }
broker:
  listeners:
    - { type: mqtt, host: 127.0.0.1, port: 1883 }
  allow_anonymous: true
http: { port: 8080 }
api: { property_topics: true, availability_timeout: 60 }
devices: []
`;

  it('parses or reports a ConfigError with issues, never anything else', () => {
    const rand = rng(42);
    let rejected = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const text = mutate(base, rand);
      try {
        parseConfigText(text, 'fuzz.yaml', {});
      } catch (err) {
        expect(err, JSON.stringify(text)).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).issues.length).toBeGreaterThan(0);
        for (const issue of (err as ConfigError).issues) expect(typeof issue.message).toBe('string');
        rejected++;
      }
    }
    // The mutations must actually exercise the error paths.
    expect(rejected).toBeGreaterThan(ITERATIONS / 10);
  });
});
