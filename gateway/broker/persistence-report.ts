// Makes failed journal writes visible without flooding the log: every failure is counted in
// zephyr2mqtt_broker_persistence_errors_total{reason}, logged rate-limited (no stack: the errno says it all),
// and the start and end of a failure streak are reported as events (for <base>/bridge/event).
import type { Logger } from '../logger.js';
import { Counter, type Registry } from '../prometheus.js';
import type { RateLimitedLog } from '../rate-limited-log.js';
import type { JournalOp } from './journal-file.js';
import { DISK_FULL_FIX, PERSISTENCE_ERROR_REASONS, persistenceErrorReason } from './persistence-errors.js';

export const PERSISTENCE_ERRORS_METRIC = 'zephyr2mqtt_broker_persistence_errors_total';

export type PersistenceEvent =
  | { event: 'journal_write_failed'; path: string; code: string | undefined; error: string }
  | { event: 'journal_recovered'; path: string; failures: number };

export interface PersistenceReportDeps {
  /** The journal file. */
  path: string;
  logger: Logger;
  rateLog: RateLimitedLog;
  /** Where the error counter is registered; none without a registry. */
  registry?: Registry | undefined;
  onEvent?: ((event: PersistenceEvent) => void) | undefined;
}

function errorCounter(registry: Registry): Counter<'reason'> {
  registry.removeSingleMetric(PERSISTENCE_ERRORS_METRIC); // a restarted broker replaces it instead of failing
  const counter = new Counter<'reason'>({
    name: PERSISTENCE_ERRORS_METRIC,
    help: 'Failed writes, compactions and syncs of the broker journal, per reason (disk_full, permission, io)',
    labelNames: ['reason'],
    registers: [registry],
  });
  for (const reason of PERSISTENCE_ERROR_REASONS) counter.inc({ reason }, 0);
  return counter;
}

export class PersistenceReport {
  readonly #errors: Counter<'reason'> | undefined;
  /** Failures since the journal last held every change; 0 while it is healthy. */
  #streak = 0;

  constructor(private readonly deps: PersistenceReportDeps) {
    this.#errors = deps.registry ? errorCounter(deps.registry) : undefined;
  }

  readonly failed = (err: unknown, op: JournalOp): void => {
    const reason = persistenceErrorReason(err);
    this.#errors?.inc({ reason });
    const e = err as NodeJS.ErrnoException;
    const error = err instanceof Error ? err.message : String(err);
    // A failed compaction of an intact journal loses nothing; writes and syncs do.
    if (op !== 'compact' && this.#streak === 0) {
      this.deps.onEvent?.({ event: 'journal_write_failed', path: this.deps.path, code: e?.code, error });
    }
    if (op !== 'compact' || this.#streak > 0) this.#streak++;
    const fields: Record<string, unknown> = { op, path: e?.path ?? this.deps.path, code: e?.code, error };
    if (e?.code === undefined) fields.err = err; // not an errno: a stack helps
    const msg =
      reason === 'disk_full' ? `broker persistence write failed: ${DISK_FULL_FIX}` : 'broker persistence write failed';
    this.deps.rateLog.warn(`broker-persistence:${reason}`, fields, msg);
  };

  readonly recovered = (): void => {
    this.deps.logger.warn(
      { path: this.deps.path, failures: this.#streak },
      'broker journal writes again; rewritten from memory, it holds every change',
    );
    this.deps.onEvent?.({ event: 'journal_recovered', path: this.deps.path, failures: this.#streak });
    this.#streak = 0;
  };
}
