// Loading the gateway's modules and starting it leaves V8 heap pages that hold few live objects (module sources
// compiled, the config parsed, schemas built). V8's memory reducer compacts them, but only ~8 s after start-up;
// until then an idle gateway's RSS is 2-4 MB higher (docs/benchmarks.md, Core). A plain full collection frees the
// dead objects and keeps the pages; one that compacts, a second after the gateway has started, returns them at once.
// --compact-on-every-full-gc is read at every full collection, so it is set for that one and cleared again.
import { setFlagsFromString } from 'node:v8';
import { collectGarbage } from './collector.js';

export const COMPACT_AFTER_START_MS = 1000;

export function compactAfterStartUp(delayMs = COMPACT_AFTER_START_MS): void {
  setTimeout(() => {
    setFlagsFromString('--compact-on-every-full-gc');
    try {
      collectGarbage();
    } finally {
      setFlagsFromString('--no-compact-on-every-full-gc');
    }
  }, delayMs).unref();
}
