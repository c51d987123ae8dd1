// What the upstream bridge tells about itself: its errors (log, bridge/event, last_error), message counts and
// drops (status, drop report) and Prometheus metrics. The other parts of the bridge report through it.
import type { Logger } from '../logger.js';
import type { Registry } from '../prometheus.js';
import { type DropCounts, DropReport } from './drop-report.js';
import { createUpstreamMetrics, type UpstreamMetrics } from './metrics.js';
import type { DropReason, QueueStats } from './queue/disk-queue.js';

type QueueProblem = 'read' | 'cursor';

export interface BridgeReportDeps {
  logger: Logger;
  registry: Registry;
  event: (type: string, data: Record<string, unknown>) => void;
  /** What the metrics' gauges read. */
  gauges: () => { connected: boolean; queue: QueueStats | undefined };
}

export class BridgeReport {
  readonly counts = { sent: 0, acked: 0, resent: 0, received: 0, reconnects: 0, echoes: 0 };
  readonly drops: Record<DropReason, number> = {
    queue_full: 0,
    max_age: 0,
    disk_full: 0,
    corrupt: 0,
    rejected: 0,
  };
  /** Kept across stops and starts of the bridge, like `counts`: Prometheus counters must never go back. */
  readonly metrics: UpstreamMetrics;
  /** The upstream's words for the last message it refused (MQTT 5 reason code), for the drop report. */
  lastRejection: string | undefined;
  #lastError: string | undefined;
  /** Problems of the queue's files (one it could not read, cursor.json that cannot be written): shown as
   * last_error while the connection has none, and not cleared by a reconnect. */
  readonly #queueErrors = new Map<QueueProblem, string>();
  readonly #dropReport = new DropReport((counts) => this.#sendDropReport(counts));

  constructor(private readonly deps: BridgeReportDeps) {
    this.metrics = createUpstreamMetrics(deps.registry, deps.gauges);
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** For status(): the connection's error, else a problem that outlives reconnects, else a queue file's. */
  shownError(linkProblem: string | undefined): string | null {
    return this.#lastError ?? linkProblem ?? [...this.#queueErrors.values()].at(-1) ?? null;
  }

  setError(error: string): void {
    if (error !== this.#lastError) {
      this.deps.logger.error({ error }, 'upstream bridge error');
      this.deps.event('upstream', { event: 'error', error });
    }
    this.#lastError = error;
  }

  clearError(): void {
    this.#lastError = undefined;
  }

  /** A problem of the queue's files, or undefined once it is gone: logged and sent on bridge/event when it changes. */
  setQueueError(key: QueueProblem, error: string | undefined): void {
    const before = this.#queueErrors.get(key);
    if (error === before) return;
    this.#queueErrors.delete(key);
    if (error === undefined) {
      this.deps.logger.info({ was: before }, 'upstream queue problem solved');
      return;
    }
    this.#queueErrors.set(key, error);
    this.deps.logger.error({ error }, 'upstream queue error');
    this.deps.event('upstream', { event: 'error', error });
  }

  /** A new queue finds its own problems. */
  clearQueueErrors(): void {
    this.#queueErrors.clear();
  }

  /** `own`: the gateway's own reports, counted but not reported by themselves (see drop-report.ts). */
  onDropped(count: number, reason: DropReason, own = false): void {
    this.drops[reason] += count;
    this.metrics.dropped.inc({ reason }, count);
    this.#dropReport.add(count, reason, own);
  }

  /** One message given up because of the upstream (`reason`, in its words where it gave them). */
  rejected(reason: string, own: boolean): void {
    this.lastRejection = reason;
    this.onDropped(1, 'rejected', own);
  }

  /** Dropped messages counted by the queue were the gateway's own reports. */
  markOwnDropped(count: number): void {
    this.#dropReport.markOwn(count);
  }

  flushDrops(): void {
    this.#dropReport.flush();
  }

  #sendDropReport(counts: DropCounts): void {
    for (const [reason, count] of Object.entries(counts)) {
      const upstream = reason === 'rejected' ? { upstream_error: this.lastRejection } : {};
      this.deps.logger.warn({ reason, count, ...upstream }, 'upstream queue dropped messages');
      this.deps.event('queue_dropped', { reason, count, total: this.drops[reason as DropReason], ...upstream });
    }
  }
}
