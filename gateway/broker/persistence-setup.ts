// Opens the broker's persistence under <data_dir>/broker for startBroker: start errors that name the path and the
// fix, and what the replay found (damage, a full disk) in the log.
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { Counter, type Registry } from '../prometheus.js';
import type { RateLimitedLog } from '../rate-limited-log.js';
import { BrokerStartError } from './errors.js';
import { JournalPersistence, type OpenResult, type PersistenceOptions } from './persistence.js';
import { DISK_FULL_FIX, persistenceStartError } from './persistence-errors.js';
import { type PersistenceEvent, PersistenceReport } from './persistence-report.js';

export interface PersistenceSetup {
  dataDir: string;
  /** false: everything in memory only. */
  enabled: boolean;
  maxQueued: number;
  logger: Logger;
  rateLog: RateLimitedLog;
  registry?: Registry | undefined;
  onEvent?: ((event: PersistenceEvent) => void) | undefined;
  /** What a resuming connection is sent of its session's queue. */
  prepareResend?: PersistenceOptions['prepareResend'];
}

export async function openPersistence(setup: PersistenceSetup): Promise<JournalPersistence> {
  const dir = setup.enabled ? join(setup.dataDir, 'broker') : undefined;
  const report = new PersistenceReport({
    path: join(setup.dataDir, 'broker', 'journal.jsonl'),
    logger: setup.logger,
    rateLog: setup.rateLog,
    registry: setup.registry,
    onEvent: setup.onEvent,
  });
  const dropped = setup.registry ? queueFullCounter(setup.registry) : undefined;
  const persistence = new JournalPersistence({
    dir,
    maxQueued: setup.maxQueued,
    onQueueFull: (clientId, topic) => {
      dropped?.inc();
      setup.rateLog.warn(
        `queue:${clientId}`,
        { clientId, topic, max: setup.maxQueued },
        'session queue full: message not kept (an offline session misses it, a connected one gets it once)',
      );
    },
    prepareResend: setup.prepareResend,
    onError: report.failed,
    onRecovered: report.recovered,
  });
  let result: OpenResult;
  try {
    result = await persistence.open();
  } catch (err) {
    persistence.close();
    throw new BrokerStartError(persistenceStartError(err, setup.dataDir));
  }
  if (setup.enabled) logOpened(setup.logger, result);
  return persistence;
}

export const SESSION_DROPS_METRIC = 'zephyr2mqtt_broker_session_messages_dropped_total';

/** Messages not queued for a persistent session that already held broker.max_queued. */
function queueFullCounter(registry: Registry): Counter {
  registry.removeSingleMetric(SESSION_DROPS_METRIC); // a restarted broker replaces it instead of failing
  return new Counter({
    name: SESSION_DROPS_METRIC,
    help: 'Messages not kept for a persistent session whose queue was full (broker.max_queued): missed if offline, sent once if connected',
    registers: [registry],
  });
}

function logOpened(logger: Logger, result: OpenResult): void {
  const { records, skipped, discardedBytes, retained, sessions, journal, damagedCopy, notCompacted } = result;
  logger.info({ records, skipped, retained, sessions }, 'broker persistence loaded');
  if (skipped > 0) {
    logger.warn(
      {
        journal,
        skippedLines: skipped,
        discardedBytes,
        copy: damagedCopy?.path,
        copyError: damagedCopy?.error,
      },
      'broker journal had unreadable records, skipped',
    );
  }
  if (notCompacted) {
    logger.warn(
      { journal, code: notCompacted.code },
      `broker journal not compacted at start, appending to it as it is: ${DISK_FULL_FIX}`,
    );
  }
}
