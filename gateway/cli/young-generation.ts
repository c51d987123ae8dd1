// V8's young generation starts at 1 MB semi-spaces and doubles (up to 16 MB each) whenever many objects survive
// a scavenge. Loading the gateway's modules and starting it allocates ~15 MB of long-lived objects (code, schemas,
// the broker), so by the end of start-up the young generation is at its 2 x 16 MB maximum, and an idle gateway
// never scavenges again to shrink it: about 10 MB of RSS for nothing (docs/benchmarks.md, Core). Holding the growth factor at 1 while the
// gateway loads and starts keeps the young generation at its initial size; once started the factor goes back
// to V8's default (2), so under load it grows exactly as before and throughput is unchanged.
//
// --semi-space-growth-factor is read by V8 at every scavenge, so setting it at run time takes effect (unlike
// --max-semi-space-size, which V8 reads once when the heap is created; on the command line V8 raises a growth
// factor below 2 to 2, at run time it does not). test/gateway/young-generation.test.ts checks that it takes
// effect on the Node version that runs the tests, so a Node whose V8 stops honouring it fails there.
import { setFlagsFromString } from 'node:v8';

/** V8's default for --semi-space-growth-factor (V8 11.3 in Node 20). */
const V8_DEFAULT_GROWTH_FACTOR = 2;
/** Flags by which the operator sizes the young generation himself: then we leave it alone. */
const OPERATOR_FLAGS = /--(?:max|min)[-_]semi[-_]space[-_]size|--semi[-_]space[-_]growth[-_]factor/;
/** `ZEPHYR2MQTT_HEAP_TUNING=off` runs with V8's defaults (for comparisons, e.g. bench/core.ts). */
export const HEAP_TUNING_ENV = 'ZEPHYR2MQTT_HEAP_TUNING';

let held = false;

/**
 * Keeps the young generation at its initial size until releaseYoungGeneration() (called at the end of
 * start-up). Does nothing when the operator set a young-generation flag or `ZEPHYR2MQTT_HEAP_TUNING=off`.
 * Returns whether it holds it.
 */
export function holdYoungGeneration(
  env: NodeJS.ProcessEnv = process.env,
  execArgv: readonly string[] = process.execArgv,
): boolean {
  const operatorFlags = [...execArgv, env.NODE_OPTIONS ?? ''].some((arg) => OPERATOR_FLAGS.test(arg));
  if (operatorFlags || env[HEAP_TUNING_ENV] === 'off') return false;
  setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
  return true;
}

/** Lets the young generation grow under load again, as V8 does by default. */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH_FACTOR}`);
}
