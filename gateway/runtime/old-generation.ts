// V8 lets the old generation grow far past the live objects before it collects: with Node's default heap limit
// it sizes the next limit at up to 4x what survived, so a busy gateway (the embedded broker makes short-lived
// garbage per publish, some of which survives a scavenge or two) carried 50-100 MB of dead objects in old space
// (docs/benchmarks.md: CoAP RSS +28 % over 200k requests, LwM2M 148 MB after a registration storm).
// --heap-growing-percent replaces that factor; V8 reads it at every full collection, so setting it at run time
// takes effect. V8 still adds at least 8 MB of room, so a small live heap is not collected constantly, and it
// collects concurrently, on its own threads, as before.
import { setFlagsFromString } from 'node:v8';

/** The old generation may grow by this much over what survived the last full collection (V8: up to 300 %). */
export const OLD_GENERATION_GROWTH_PERCENT = 10;

export function limitOldGenerationGrowth(percent = OLD_GENERATION_GROWTH_PERCENT): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
