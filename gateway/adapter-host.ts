// Runs one adapter instance in isolation: builds its context, starts it, and restarts it with back-off
// when it fails. A failing adapter never takes the others (or the gateway) down.
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Adapter, AdapterContext, AdapterModule, AdapterStatus } from './adapter.js';
import { InstanceContext } from './instance-context.js';
import type { Logger } from './logger.js';

export interface AdapterHostOptions {
  /** A restart after a failure is about to begin. */
  restarting?(): void;
  /** The adapter started, or failed (at start or at run time). */
  statusChanged?(status: AdapterStatus): void;
  /** A start() that has not settled by then counts as failed (default 30 s). */
  startTimeoutMs?: number;
}

const START_TIMEOUT_MS = 30_000;
/** Shutdown must finish within 10 s overall, so one adapter's stop() gets at most this. */
const STOP_TIMEOUT_MS = 3_000;
const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;
/** An adapter that ran this long before failing starts again from the shortest back-off. */
const STABLE_MS = 60_000;

/** An adapter instance, its start() and the context it reports through. */
class Instance {
  /** Settles, never rejects, once the start() did. */
  readonly started: Promise<void>;
  settled = false;

  constructor(
    readonly adapter: Adapter,
    start: Promise<void>,
    readonly context: InstanceContext,
  ) {
    const settle = (): void => {
      this.settled = true;
    };
    this.started = start.then(settle, settle);
  }
}

/** A create() in flight and the context the instance it makes reports through. */
interface Creation {
  readonly created: Promise<Adapter>;
  readonly context: InstanceContext;
}

export class AdapterHost {
  #instance: Instance | undefined;
  #failure: string | undefined;
  #backoffMs = MIN_BACKOFF_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #stopped = false;
  #startedAt = 0;
  /** Bumped by every start(), stop() and fail(): a create() or start() that settles after a newer one is dropped. */
  #generation = 0;
  /** Between start() and create() settling: status() says starting. */
  #creation: Creation | undefined;
  /** The context of the latest start(): a newer start retires it. */
  #context: InstanceContext | undefined;

  constructor(
    readonly module: AdapterModule<unknown>,
    private config: unknown,
    private readonly ctx: AdapterContext,
    private readonly logger: Logger,
    private readonly events: AdapterHostOptions = {},
  ) {}

  get adapter(): Adapter | undefined {
    return this.#instance?.adapter;
  }

  static dataDirFor(root: string, kind: string): string {
    return join(root, 'adapters', kind);
  }

  async start(): Promise<void> {
    this.#stopped = false;
    const generation = ++this.#generation;
    const previous = this.#instance; // start() without stop(): this one replaces it
    this.#instance = undefined;
    if (previous) void this.#letGo(previous);
    this.#dropCreation();
    const context = this.#newContext(generation);
    const startTimeoutMs = this.events.startTimeoutMs ?? START_TIMEOUT_MS;
    // create() may import the adapter's code first; a stop() meanwhile must not be followed by a start.
    const created = Promise.resolve().then(() => this.module.create(this.config, context.ctx));
    this.#creation = { created, context };
    try {
      const adapter = await settleWithin(created, startTimeoutMs);
      // Stopped or restarted meanwhile: whoever did that took the creation over, and stops what it made.
      if (generation !== this.#generation) return;
      this.#creation = undefined;
      const starting = (async () => adapter.start())(); // a start() that throws at once rejects it
      this.#instance = new Instance(adapter, starting, context);
      await settleWithin(starting, startTimeoutMs);
      // Stopped, restarted or failed meanwhile: whoever did that stops this instance (#stopWhenStarted), and it
      // never ran as far as the host is concerned.
      if (generation !== this.#generation) return;
      this.#failure = undefined;
      this.#startedAt = performance.now();
      this.events.statusChanged?.(this.status());
    } catch (err) {
      if (generation !== this.#generation) return; // stopped (or restarted) meanwhile
      this.#dropCreation(); // create() failed, or outlived the timeout: what it makes later is stopped, never started
      this.#failure = err instanceof Error ? err.message : String(err);
      this.logger.error(
        { ...failureFields(err), retryInMs: this.#backoffMs },
        `adapter ${this.module.kind} failed to start`,
      );
      const failed = this.#instance;
      this.#instance = undefined;
      if (failed) {
        const stopping = this.#letGo(failed);
        // A start that timed out may still be running: it is stopped whenever it ends, without holding up the retry,
        // and has nothing more to report.
        if (failed.settled) await stopping;
        else failed.context.retire();
        // Stopped (and maybe started again by a reload) while it stopped: no restart or status is this start's now.
        if (generation !== this.#generation) return;
      }
      this.#scheduleRestart();
      this.events.statusChanged?.(this.status());
    }
  }

  /** Called when the adapter reports a fatal runtime error: stop and start again with back-off. */
  fail(err: unknown): void {
    const instance = this.#instance;
    if (this.#stopped || !instance) return; // already stopping or restarting
    if (performance.now() - this.#startedAt > STABLE_MS) this.#backoffMs = MIN_BACKOFF_MS;
    this.#failure = err instanceof Error ? err.message : String(err);
    this.logger.error(failureFields(err), `adapter ${this.module.kind} failed, restarting`);
    this.#generation++; // a start() still running must not report it running once it ends
    this.#instance = undefined;
    void this.#letGo(instance);
    this.#scheduleRestart();
    this.events.statusChanged?.(this.status());
  }

  #scheduleRestart(): void {
    if (this.#stopped || this.#retryTimer) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#stopped) return;
      this.events.restarting?.();
      void this.start();
    }, delay);
    this.#retryTimer.unref();
  }

  async reconfigure(config: unknown): Promise<void> {
    if (JSON.stringify(config) === JSON.stringify(this.config)) {
      await this.#instance?.adapter.devicesChanged?.().catch((err: unknown) => this.fail(err));
      return;
    }
    this.config = config;
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#generation++;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    const instance = this.#instance;
    this.#instance = undefined;
    const creation = this.#creation;
    this.#creation = undefined;
    const stopping = instance ? this.#letGo(instance) : creation ? this.#letGoOfCreation(creation) : undefined;
    if (!stopping) return;
    const running = instance?.settled === true;
    if (!running)
      this.logger.info(`adapter ${this.module.kind} is still starting: it is stopped once its start has ended`);
    if (await stopping) return;
    const still = running ? 'stopping' : 'starting; it is stopped once its start ends';
    this.logger.warn(
      `adapter ${this.module.kind} did not stop within ${STOP_TIMEOUT_MS / 1000} s: still ${still}, ` +
        'and what it reports is ignored',
    );
  }

  /** The context for the start() of `generation`; whatever an earlier instance still reports would publish over
   * this one's, so the previous context is retired. */
  #newContext(generation: number): InstanceContext {
    this.#context?.retire();
    this.#context = new InstanceContext(this.ctx, {
      kind: this.module.kind,
      logger: this.logger,
      current: () => generation === this.#generation,
      fail: (err) => this.fail(err),
    });
    return this.#context;
  }

  /**
   * Stops an instance the host no longer runs (#stopWhenStarted) and resolves with whether that stop ended within
   * STOP_TIMEOUT_MS. Until then the instance is still heard (a stop may report an upload cut short); after that
   * nothing it reports counts.
   */
  async #letGo(instance: Instance): Promise<boolean> {
    try {
      return await endsWithinStopBudget(this.#stopWhenStarted(instance).then(reportsSetInMotion));
    } finally {
      instance.context.retire();
    }
  }

  /** Lets go of the create() in flight, if any, without waiting for it. */
  #dropCreation(): void {
    const creation = this.#creation;
    this.#creation = undefined;
    if (creation) void this.#letGoOfCreation(creation);
  }

  /**
   * Lets go of a create() the host no longer waits for (it failed or outlived the start timeout, or a stop or a
   * newer start came meanwhile): the instance it makes is never started and nothing it reports counts, but it is
   * stopped, since making it may have set up a socket or a timer. Resolves like #letGo.
   */
  #letGoOfCreation({ created, context }: Creation): Promise<boolean> {
    context.retire();
    // A create() that fails has nothing to stop; its error is the start's to report, or nobody's once it came late.
    return endsWithinStopBudget(created.then((adapter) => this.#stopAdapter(adapter), ignore));
  }

  /**
   * Stops an instance once its start() has settled, never alongside it: a stop() while a start() is still running
   * (a retry fired by the back-off, then a reload or a shutdown) would leave running whatever the start sets up
   * after it, a bound socket or an open port that nothing would stop any more. #letGo bounds how long it is waited
   * for (start and stop together get STOP_TIMEOUT_MS, not the 30 s a start may take, so that a hung start does not
   * hold up a shutdown); the stop still comes whenever the start ends. Each instance is stopped once. Never
   * rejects: a failing stop is logged.
   */
  #stopWhenStarted(instance: Instance): Promise<void> {
    return instance.started.then(() => this.#stopAdapter(instance.adapter));
  }

  /** Never rejects: a failing stop is logged. */
  #stopAdapter(adapter: Adapter): Promise<void> {
    return (async () => adapter.stop())().catch((err: unknown) =>
      this.logger.warn({ err }, `adapter ${this.module.kind} did not stop cleanly`),
    );
  }

  status(): AdapterStatus {
    if (this.#creation) return { state: 'starting' };
    const adapter = this.#instance?.adapter;
    if (this.#failure && !adapter) return { state: 'failed', reason: this.#failure };
    if (!adapter) return { state: 'stopped' };
    try {
      return adapter.status();
    } catch (err) {
      return { state: 'failed', reason: String(err) };
    }
  }
}

/**
 * Resolves once what a stop set in motion has reported: an upload the stop cut short fails a few promise steps after
 * stop() resolved (BLE's SMP client rejects at once, and the failure climbs through the upload's awaits before it
 * reports `update: failed`). Promise continuations all run before the next turn of the event loop (taken from
 * node:timers/promises, which tests' fake timers leave running).
 */
function reportsSetInMotion(): Promise<void> {
  return nextTurn();
}

/** Whether `stopping` ended within the STOP_TIMEOUT_MS a stop gets. */
function endsWithinStopBudget(stopping: Promise<void>): Promise<boolean> {
  return settleWithin(stopping, STOP_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
}

function ignore(): void {}

/** Settles like `promise`, or rejects once `ms` passed: a hung adapter must not block the gateway. */
async function settleWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What an adapter failure logs: its message, repeated at every retry (a busy port, a missing Bluetooth adapter), and
 * the stack only for a programming error, where it is the useful part.
 */
function failureFields(err: unknown): Record<string, unknown> {
  const isBug = err instanceof TypeError || err instanceof RangeError || err instanceof ReferenceError;
  return isBug ? { err } : { reason: err instanceof Error ? err.message : String(err) };
}
