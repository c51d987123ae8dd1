// V8's collector, reached without a node flag: `gc` when node runs with --expose-gc, else exposed at run time
// (--expose-gc set through v8.setFlagsFromString only installs `gc` in contexts created afterwards, hence the
// new vm context).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = () => void;

let gc: Gc | null | undefined;

function collector(): Gc | null {
  if (gc === undefined) {
    try {
      const exposed = (globalThis as { gc?: unknown }).gc;
      if (typeof exposed === 'function') {
        gc = exposed as Gc;
      } else {
        setFlagsFromString('--expose-gc');
        const fn: unknown = runInNewContext('gc');
        gc = typeof fn === 'function' ? (fn as Gc) : null;
      }
    } catch {
      gc = null;
    }
  }
  return gc;
}

/**
 * A full collection. Returns false when V8's collector cannot be reached. Called without options on purpose: in
 * V8 11.3 (Node 20) gc() with an options object ({ type: 'major' }, any flavor) left dead objects in old space
 * in our measurements, plain gc() collects them.
 */
export function collectGarbage(): boolean {
  const fn = collector();
  fn?.();
  return fn !== null;
}
