// What the broker journal tests store and open: a retained PUBLISH as aedes hands it to persistence, and a journal
// whose write errors fail the test.
import { JournalPersistence, type PersistenceOptions } from '../../gateway/broker/persistence.js';

/** A retained PUBLISH on `topic` as aedes hands it to storeRetained (brokerCounter 1). */
export function retainedPacket(topic: string, payload: string, qos: 0 | 1 = 1) {
  return {
    cmd: 'publish',
    brokerId: 'b',
    brokerCounter: 1,
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: true,
  };
}

/** A journal in `dir` (at most 10 queued messages a session) that throws every write error it meets. */
export function strictJournal(
  dir: string,
  options: Pick<PersistenceOptions, 'compactAfterBytes'> = {},
): JournalPersistence {
  return new JournalPersistence({
    dir,
    maxQueued: 10,
    onQueueFull: () => {},
    onError: (err) => {
      throw err;
    },
    ...options,
  });
}
