// Wraps an adapter module so that a test decides how the next start() of its instances goes: it fails, or it waits
// until the test lets it go on, so that a stop, a reload or a shutdown can arrive while a start is still running.
// Each instance records when its stop() came, to tell a stop after its start from one alongside it.
import type { Adapter, AdapterModule } from '../../gateway/adapter.js';
import { deferred } from '../../gateway/deferred.js';

export interface HeldStart {
  /** Resolves once a start() waits here. */
  readonly reached: Promise<void>;
  /** Lets it go on; resolves once that start() has returned or thrown. */
  release(): Promise<void>;
}

export interface GatedInstance {
  readonly adapter: Adapter;
  /** Whether its start() has returned or thrown. */
  startEnded: boolean;
  /** For each stop() call: whether its start() had ended by then. */
  readonly stops: boolean[];
  /** Resolves at its first stop() call. */
  readonly stopped: Promise<void>;
}

type Gate = ReturnType<typeof deferred>;
type Step = { kind: 'fail' } | { kind: 'hold'; open: Gate; reached: Gate; ended: Gate };

export function gateStarts<C>(inner: AdapterModule<C>): {
  module: AdapterModule<C>;
  instances: GatedInstance[];
  /** The next start() throws. */
  failNext(): void;
  /** The next start() (after those already planned) waits until released. */
  holdNext(): HeldStart;
} {
  const steps: Step[] = [];
  const instances: GatedInstance[] = [];
  const module: AdapterModule<C> = {
    ...inner,
    async create(config, ctx) {
      const adapter = await inner.create(config, ctx);
      const start = adapter.start.bind(adapter);
      const stop = adapter.stop.bind(adapter);
      const stopped = deferred();
      const instance: GatedInstance = { adapter, startEnded: false, stops: [], stopped: stopped.promise };
      instances.push(instance);
      adapter.start = async () => {
        const step = steps.shift();
        try {
          if (step?.kind === 'fail') throw new Error('start failed by the test');
          if (step?.kind === 'hold') {
            step.reached.resolve();
            await step.open.promise;
          }
          await start();
        } finally {
          instance.startEnded = true;
          if (step?.kind === 'hold') step.ended.resolve();
        }
      };
      adapter.stop = () => {
        instance.stops.push(instance.startEnded);
        stopped.resolve();
        return stop();
      };
      return adapter;
    },
  };
  return {
    module,
    instances,
    failNext: () => void steps.push({ kind: 'fail' }),
    holdNext() {
      const step = { kind: 'hold', open: deferred(), reached: deferred(), ended: deferred() } as const;
      steps.push(step);
      return {
        reached: step.reached.promise,
        release: () => {
          step.open.resolve();
          return step.ended.promise;
        },
      };
    },
  };
}
