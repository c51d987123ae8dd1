// V8's young generation starts at 1 MB semi-spaces and doubles (up to 16 MB each) whenever many objects survive
// a scavenge. Loading the gateway's modules and starting it allocates ~15 MB of long-lived objects (code, schemas,
// the broker), and a registration storm or a burst of traffic does the same later, so the young generation ends
// at its 2 x 16 MB maximum and keeps it: an idle gateway never scavenges again to shrink it (docs/benchmarks.md,
// Core and lwm2m). Holding the growth factor at 1 keeps it at its initial size for good. With the old generation
// collected early (old-generation.ts) that costs no measurable throughput: CoAP 43-46 µs of CPU per message with
// 1 MB semi-spaces against 44-48 µs with V8's defaults (docs/benchmarks.md, coap).
//
// --semi-space-growth-factor is read by V8 at every scavenge, so setting it at run time takes effect (unlike
// --max-semi-space-size, which V8 reads once when the heap is created; on the command line V8 raises a growth
// factor below 2 to 2, at run time it does not). test/gateway/runtime-tuning.test.ts checks that it takes effect
// on the Node version that runs the tests, so a Node whose V8 stops honouring it fails there.
import { setFlagsFromString } from 'node:v8';

export function holdYoungGeneration(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
