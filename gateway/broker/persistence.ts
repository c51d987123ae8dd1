// aedes persistence that survives restarts: aedes-persistence's in-memory store (its topic tries for
// retained messages and subscriptions) plus a JSON-lines journal of every change under <data_dir>/broker/.
// On start the journal is replayed and compacted (a damaged one is kept as evidence first; on a full disk it is
// appended to as it is). Outgoing queues and incoming QoS 2 packets are kept here (same semantics as
// aedes-persistence) so snapshots read one consistent, synchronous state and the per-client queue limit can be
// enforced.
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { type DamagedCopy, keepDamagedCopy, removeDamagedCopy } from './journal-damage.js';
import { JournalFile, type JournalFileOptions } from './journal-file.js';
import { readJournal } from './journal-read.js';
import { isDiskFull } from './persistence-errors.js';
import { SessionOwners } from './session-owners.js';
import { SessionOwnersFile } from './session-owners-file.js';
import { levelsMatch } from './topic-filter.js';

interface ClientRef {
  id: string;
}

interface StoredSub {
  topic: string;
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
}

/** Any packet aedes hands to persistence (publish, or pubrel in an outgoing queue). */
interface StoredPacket {
  cmd: string;
  brokerId?: string;
  brokerCounter?: number;
  topic?: string;
  payload?: Buffer;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
  messageId?: number;
  clientId?: string;
}

interface MemoryApi {
  setup(broker: unknown): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
  storeRetained(packet: StoredPacket): Promise<void>;
  addSubscriptions(client: ClientRef, subs: StoredSub[]): Promise<void>;
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<void>;
  cleanSubscriptions(client: ClientRef): Promise<void>;
}

const require = createRequire(import.meta.url);
const MemoryPersistence = require('aedes-persistence/asyncPersistence.js') as new () => MemoryApi;

const encodedPacketSchema = z.object({
  cmd: z.string(),
  brokerId: z.string().optional(),
  brokerCounter: z.number().int().nonnegative().optional(),
  topic: z.string().optional(),
  payload: z.base64().optional(),
  qos: z.number().int().min(0).max(2).optional(),
  retain: z.boolean().optional(),
  dup: z.boolean().optional(),
  messageId: z.number().int().min(0).max(65_535).optional(),
  clientId: z.string().optional(),
});
const storedSubSchema = z.object({
  topic: z.string().min(1),
  qos: z.number().int().min(0).max(2),
  rh: z.number().int().optional(),
  rap: z.boolean().optional(),
  nl: z.boolean().optional(),
});
const clientId = z.string();
const messageId = z.number().int().min(0).max(65_535);

/** The journal is read back from disk: every record is validated before it touches the store. */
const journalRecordSchema = z.discriminatedUnion('o', [
  z.object({ o: z.literal('r'), k: encodedPacketSchema.extend({ topic: z.string() }) }),
  z.object({ o: z.literal('s'), c: clientId, s: z.array(storedSubSchema) }),
  z.object({ o: z.literal('u'), c: clientId, t: z.array(z.string()) }),
  z.object({ o: z.literal('S'), c: clientId }),
  z.object({ o: z.literal('q'), c: z.array(clientId), k: encodedPacketSchema }),
  z.object({ o: z.literal('m'), c: clientId, k: encodedPacketSchema }),
  z.object({ o: z.literal('x'), c: clientId, i: messageId }),
  z.object({ o: z.literal('Q'), c: clientId }),
  z.object({ o: z.literal('i'), c: clientId, k: encodedPacketSchema }),
  z.object({ o: z.literal('d'), c: clientId, i: messageId }),
  z.object({ o: z.literal('I'), c: clientId }),
  z.object({ o: z.literal('w'), c: clientId, u: z.string().nullable() }),
  z.object({ o: z.literal('W'), c: clientId }),
]);

type JournalRecord = z.infer<typeof journalRecordSchema>;

type EncodedPacket = Omit<StoredPacket, 'payload'> & { payload?: string };

function encode(p: StoredPacket): EncodedPacket {
  const { payload, ...rest } = p;
  const out: EncodedPacket = {
    cmd: rest.cmd,
    brokerId: rest.brokerId,
    brokerCounter: rest.brokerCounter,
    topic: rest.topic,
    qos: rest.qos,
    retain: rest.retain,
    dup: rest.dup,
    messageId: rest.messageId,
  };
  if (rest.clientId !== undefined) out.clientId = rest.clientId;
  if (payload !== undefined) out.payload = Buffer.from(payload).toString('base64');
  return out;
}

function decode(e: EncodedPacket): StoredPacket {
  const { payload, ...rest } = e;
  const p: StoredPacket = { ...rest };
  if (payload !== undefined) p.payload = Buffer.from(payload, 'base64');
  return p;
}

/**
 * A copy the way aedes-packet makes one: a fresh message id is assigned when the packet is sent. RETAIN is cleared:
 * a queued message is delivered because of a subscription, never as the retained one [MQTT-3.3.1-9]; aedes clears
 * it on the live path only, and resumed sessions would get the publisher's flag.
 */
function copyForQueue(p: StoredPacket): StoredPacket {
  const copy: StoredPacket = { ...p, payload: p.payload ?? Buffer.alloc(0), retain: false };
  if ((copy.qos ?? 0) > 0 || copy.cmd !== 'publish') copy.messageId = undefined;
  return copy;
}

/**
 * A queued PUBLISH that has a message id was written to an earlier connection, which did not acknowledge it: it goes
 * again with DUP set [MQTT-3.3.1-1] and the same message id [MQTT-4.4.0-1]. The stored packet is left as it is.
 */
function asResent(p: StoredPacket): StoredPacket {
  return p.cmd === 'publish' && p.messageId !== undefined && (p.qos ?? 0) > 0 ? { ...p, dup: true } : p;
}

export interface PersistenceOptions {
  /** Directory for the journal; undefined keeps everything in memory only. */
  dir: string | undefined;
  /** Offline/unacknowledged messages kept per persistent session; further ones are dropped. */
  maxQueued: number;
  onQueueFull: (clientId: string, topic: string) => void;
  /** What a resuming connection is sent of its session's queue (by default the queue as it is, in order). */
  prepareResend?: ((client: ClientRef, queued: StoredPacket[]) => StoredPacket[]) | undefined;
  onError: JournalFileOptions['onError'];
  onRecovered?: JournalFileOptions['onRecovered'];
  syncIntervalMs?: number;
  compactAfterBytes?: number;
}

export interface ReplayStats {
  /** Valid records read. */
  records: number;
  /** Lines that could not be read, and records whose replay failed. */
  skipped: number;
  /** Bytes of the lines that could not be read or were refused (a zeroed block is one long line). */
  discardedBytes: number;
  retained: number;
  sessions: number;
}

export interface OpenResult extends ReplayStats {
  /** The journal file (undefined: in memory only). */
  journal?: string;
  /** When lines were skipped: where the damaged journal was kept before compaction replaced it. */
  damagedCopy?: DamagedCopy;
  /** Set when the start-up compaction found the disk full: the journal is appended to as it is. */
  notCompacted?: NodeJS.ErrnoException;
}

export class JournalPersistence extends MemoryPersistence {
  readonly #retained = new Map<string, StoredPacket>();
  readonly #subs = new Map<string, Map<string, StoredSub>>();
  readonly #outgoing = new Map<string, StoredPacket[]>();
  readonly #incoming = new Map<string, Map<number, StoredPacket>>();
  #ownersFile: SessionOwnersFile | undefined;
  /** Who owns each persistent session (see session-owners.ts), kept in a file beside the journal. */
  readonly sessionOwners: SessionOwners = new SessionOwners(() =>
    this.#ownersFile?.schedule(() => this.sessionOwners.entries()),
  );
  #journal: JournalFile | undefined;
  #replaying = false;

  constructor(private readonly options: PersistenceOptions) {
    super();
  }

  /** Replays the journal from disk and compacts it. Call once, before aedes starts. */
  async open(): Promise<OpenResult> {
    const result: OpenResult = { records: 0, skipped: 0, discardedBytes: 0, retained: 0, sessions: 0 };
    const { dir } = this.options;
    if (dir === undefined) return result;
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'journal.jsonl');
    result.journal = path;
    this.#ownersFile = new SessionOwnersFile(join(dir, 'session-owners.json'), (err) =>
      this.options.onError(err, 'write'),
    );
    this.sessionOwners.restore(this.#ownersFile.load());
    await this.#replay(path, result);
    this.#journal = new JournalFile(path, {
      syncIntervalMs: this.options.syncIntervalMs ?? 1000,
      compactAfterBytes: this.options.compactAfterBytes ?? 4 * 1024 * 1024,
      snapshot: () => this.#snapshot(),
      onError: this.options.onError,
      onRecovered: this.options.onRecovered,
    });
    // Before the compaction replaces the file: what could not be read is kept for a post-mortem.
    if (result.skipped > 0) result.damagedCopy = keepDamagedCopy(path);
    this.#compactAtOpen(this.#journal, result);
    result.retained = this.#retained.size;
    result.sessions = new Set([...this.#subs.keys(), ...this.#outgoing.keys()]).size;
    return result;
  }

  async #replay(path: string, stats: ReplayStats): Promise<void> {
    const read = readJournal(path, (value) => journalRecordSchema.safeParse(value).data);
    stats.records = read.records.length;
    stats.skipped = read.skipped;
    stats.discardedBytes = read.skippedBytes;
    this.#replaying = true;
    try {
      for (const record of read.records) {
        try {
          await this.#apply(record);
        } catch {
          // e.g. an update for a packet an earlier skipped record would have created
          stats.skipped++;
        }
      }
    } finally {
      this.#replaying = false;
    }
  }

  /** A full disk must not stop the broker from starting: it keeps appending to the journal as it is. */
  #compactAtOpen(journal: JournalFile, result: OpenResult): void {
    try {
      journal.compact();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      result.notCompacted = err as NodeJS.ErrnoException;
      // The journal itself still holds the damage, and the next start keeps a copy before it compacts.
      if (result.damagedCopy?.path) removeDamagedCopy(result.damagedCopy.path);
      result.damagedCopy = undefined;
    }
  }

  close(): void {
    this.#ownersFile?.flush();
    this.#journal?.close();
    this.#journal = undefined;
  }

  #log(record: JournalRecord): Promise<void> {
    if (this.#replaying || !this.#journal) return Promise.resolve();
    return this.#journal.append(record);
  }

  async #apply(r: JournalRecord): Promise<void> {
    const client = (id: string): ClientRef => ({ id });
    switch (r.o) {
      case 'r':
        return this.storeRetained(decode(r.k));
      case 's':
        return this.addSubscriptions(client(r.c), r.s);
      case 'u':
        return this.removeSubscriptions(client(r.c), r.t);
      case 'S':
        return this.cleanSubscriptions(client(r.c));
      case 'q':
        // Journals of older versions queued the publisher's RETAIN flag.
        for (const id of r.c) this.#queueFor(id).push({ ...decode(r.k), retain: false });
        return;
      case 'm':
        // An update of a packet never queued is damage here, not a message sent past a full queue.
        if (!this.#updateQueued(r.c, decode(r.k))) throw new Error('no such packet');
        return;
      case 'x':
        await this.outgoingClearMessageId(client(r.c), { cmd: 'publish', messageId: r.i });
        return;
      case 'Q':
        return this.outgoingClear(client(r.c));
      case 'i':
        return this.incomingStorePacket(client(r.c), decode(r.k));
      case 'd':
        return this.incomingDelPacket(client(r.c), { cmd: 'publish', messageId: r.i });
      case 'I':
        return this.cleanIncoming(client(r.c));
      case 'w':
      case 'W':
        // A development version journaled owners; they move to the owners file (the compaction drops them here).
        this.sessionOwners.apply(r);
        this.#ownersFile?.schedule(() => this.sessionOwners.entries());
        return;
    }
  }

  *#snapshot(): Iterable<JournalRecord> {
    for (const [topic, packet] of this.#retained) yield { o: 'r', k: { ...encode(packet), topic } };
    for (const [c, subs] of this.#subs) yield { o: 's', c, s: [...subs.values()] };
    // 'q' replays the packet verbatim, keeping message ids assigned before the snapshot.
    for (const [c, queue] of this.#outgoing) for (const packet of queue) yield { o: 'q', c: [c], k: encode(packet) };
    for (const [c, packets] of this.#incoming)
      for (const packet of packets.values()) yield { o: 'i', c, k: encode(packet) };
  }

  // ---- retained -------------------------------------------------------------------------------

  /**
   * The client whose SUBSCRIBE aedes handles now: aedes emits 'subscribe' and then, in the same turn, asks for the
   * retained messages of the granted filters (handlers/subscribe.js). It sends them one by one and goes on after
   * the client has gone, each one failing with a new Error and an Immediate; a client that subscribes to `#` and
   * drops left tens of thousands of those behind it (1 KB per retained message), and clients coming and going
   * faster than they drained grew the heap by gigabytes.
   */
  #subscriber: { closed: boolean } | undefined;

  /** Called on aedes' 'subscribe' event: the next retained stream belongs to `client`. */
  noteSubscriber(client: { closed: boolean }): void {
    this.#subscriber = client;
  }

  /** The retained messages for a SUBSCRIBE, ending as soon as its client has closed. */
  override createRetainedStreamCombi(patterns: string[]): Readable {
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    const source = Readable.from(this.#retainedMatching(patterns));
    return subscriber ? Readable.from(untilClosed(source, subscriber)) : source;
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#retainedMatching([pattern]));
  }

  /**
   * The retained messages each pattern matches, pattern by pattern, as aedes-persistence yields them, but from the one
   * copy kept here (aedes-persistence kept its own, a second object and Map update per retained publish), and with a
   * wildcard first level not matching `$`-topics [MQTT-4.7.2-1], which its matcher did.
   */
  *#retainedMatching(patterns: string[]): Iterable<StoredPacket> {
    for (const pattern of patterns) {
      const filter = pattern.split('/');
      for (const [topic, packet] of this.#retained) if (levelsMatch(filter, topic.split('/'))) yield packet;
    }
  }

  /** Every retained message now (topic order is insertion order), for a bridge that must bring a broker up to date. */
  *retainedMessages(): Iterable<{ topic: string; payload: Buffer; qos: 0 | 1 | 2 }> {
    for (const [topic, packet] of this.#retained) {
      if (packet.payload && packet.payload.length > 0)
        yield { topic, payload: Buffer.from(packet.payload), qos: (packet.qos ?? 0) as 0 | 1 | 2 };
    }
  }

  retainedPayload(topic: string): Buffer | undefined {
    const payload = this.#retained.get(topic)?.payload;
    return payload && payload.length > 0 ? Buffer.from(payload) : undefined;
  }

  override async storeRetained(packet: StoredPacket): Promise<void> {
    const topic = packet.topic ?? '';
    const stored = { ...packet };
    if (!packet.payload || packet.payload.length === 0) this.#retained.delete(topic);
    else this.#retained.set(topic, stored);
    if (this.#replaying || !this.#journal) return;
    // Retained messages are latest-wins per topic: encoded at the flush, once per topic and write.
    await this.#journal.appendLatest(topic, (): JournalRecord => ({ o: 'r', k: { ...encode(stored), topic } }));
  }

  // ---- subscriptions ----------------------------------------------------------------------------

  override async addSubscriptions(client: ClientRef, subs: StoredSub[]): Promise<void> {
    await super.addSubscriptions(client, subs);
    let stored = this.#subs.get(client.id);
    if (!stored) {
      stored = new Map();
      this.#subs.set(client.id, stored);
    }
    const records: StoredSub[] = subs.map(({ topic, qos, rh, rap, nl }) => ({ topic, qos, rh, rap, nl }));
    for (const sub of records) stored.set(sub.topic, sub);
    await this.#log({ o: 's', c: client.id, s: records });
  }

  override async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    await super.removeSubscriptions(client, topics);
    const stored = this.#subs.get(client.id);
    if (stored) {
      for (const topic of topics) stored.delete(topic);
      if (stored.size === 0) this.#subs.delete(client.id);
    }
    await this.#log({ o: 'u', c: client.id, t: topics });
  }

  override async cleanSubscriptions(client: ClientRef): Promise<void> {
    await super.cleanSubscriptions(client);
    if (!this.#subs.delete(client.id)) return;
    await this.#log({ o: 'S', c: client.id });
  }

  // ---- outgoing queues (QoS > 0 for persistent sessions) -----------------------------------------

  #queueFor(clientId: string): StoredPacket[] {
    let queue = this.#outgoing.get(clientId);
    if (!queue) {
      queue = [];
      this.#outgoing.set(clientId, queue);
    }
    return queue;
  }

  async outgoingEnqueue(sub: { clientId: string }, packet: StoredPacket): Promise<void> {
    return this.outgoingEnqueueCombi([sub], packet);
  }

  async outgoingEnqueueCombi(subs: Array<{ clientId: string }>, packet: StoredPacket): Promise<void> {
    const accepted: string[] = [];
    let queued: StoredPacket | undefined;
    for (const { clientId } of subs) {
      const queue = this.#queueFor(clientId);
      if (queue.length >= this.options.maxQueued) {
        this.options.onQueueFull(clientId, packet.topic ?? '');
        continue;
      }
      // One copy per queue: outgoingUpdate sets each client's message id on its own.
      queued = copyForQueue(packet);
      queue.push(queued);
      accepted.push(clientId);
    }
    // The record replays what was queued (no RETAIN, no publisher's message id), not the publish itself.
    if (queued) await this.#log({ o: 'q', c: accepted, k: encode(queued) });
  }

  async outgoingUpdate(client: ClientRef, packet: StoredPacket): Promise<void> {
    if (!this.#updateQueued(client.id, packet)) {
      // aedes ends the connection when this rejects, so a connected client whose queue was full (max_queued messages
      // unacknowledged, onQueueFull) was cut off at its next message, and a resumed one at a stored message the
      // connection it took over had acknowledged meanwhile. The message is sent unstored instead: it is not sent
      // again if the connection drops before it is acknowledged.
      if (packet.cmd === 'publish' && packet.brokerId !== undefined) return;
      // The PUBREL of such a message: it is still owed [MQTT-4.3.3-1], and nothing needs storing.
      if (packet.cmd === 'pubrel') return;
      throw new Error('no such packet');
    }
    await this.#log({ o: 'm', c: client.id, k: encode(packet) });
  }

  /**
   * Gives the queued copy of a PUBLISH (by broker id and counter) its message id, or puts a PUBREL in place of the
   * queued packet with its message id. False when there is none.
   *
   * aedes-persistence matches a PUBREL (which has no broker id) by broker id and counter too when the queued packet
   * has none, that is when it is a PUBREL itself: undefined equals undefined, so with two QoS 2 messages awaiting
   * PUBCOMP the second PUBREL renumbered the first one and left its own PUBLISH queued, to be sent again on resume
   * after the exchange had completed (a duplicate of an exactly-once message).
   */
  #updateQueued(clientId: string, packet: StoredPacket): boolean {
    const queue = this.#outgoing.get(clientId) ?? [];
    const byBrokerCounter = packet.brokerId !== undefined;
    for (let i = 0; i < queue.length; i++) {
      const item = queue[i] as StoredPacket;
      if (byBrokerCounter) {
        if (item.brokerId === packet.brokerId && item.brokerCounter === packet.brokerCounter) {
          item.messageId = packet.messageId;
          return true;
        }
      } else if (item.messageId === packet.messageId) {
        queue[i] = { ...packet };
        return true;
      }
    }
    return false;
  }

  async outgoingClearMessageId(client: ClientRef, packet: StoredPacket): Promise<StoredPacket | undefined> {
    const queue = this.#outgoing.get(client.id);
    if (!queue) return undefined;
    const i = queue.findIndex((item) => item.messageId === packet.messageId);
    if (i < 0) return undefined;
    const [removed] = queue.splice(i, 1);
    if (queue.length === 0) this.#outgoing.delete(client.id);
    await this.#log({ o: 'x', c: client.id, i: packet.messageId ?? 0 });
    return removed;
  }

  /** Drops every queued and unacknowledged message of a session. */
  async outgoingClear(client: ClientRef): Promise<void> {
    if (!this.#outgoing.delete(client.id)) return;
    await this.#log({ o: 'Q', c: client.id });
  }

  /** What a resuming connection is sent first: the session's queue as it is now, in order. */
  outgoingStream(client: ClientRef): Readable {
    const queued = [...(this.#outgoing.get(client.id) ?? [])];
    const resend = this.options.prepareResend?.(client, queued) ?? queued;
    return Readable.from(resend.map(asResent));
  }

  // ---- incoming QoS 2 awaiting PUBREL -----------------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    let store = this.#incoming.get(client.id);
    if (!store) {
      store = new Map();
      this.#incoming.set(client.id, store);
    }
    const copy: StoredPacket = { ...packet, payload: packet.payload ?? Buffer.alloc(0) };
    store.set(packet.messageId ?? 0, copy);
    await this.#log({ o: 'i', c: client.id, k: encode(copy) });
  }

  /** A QoS 2 PUBLISH of this client with this packet id awaits its PUBREL: another one is a retransmission. */
  hasIncoming(clientId: string, messageId: number): boolean {
    return this.#incoming.get(clientId)?.has(messageId) ?? false;
  }

  async incomingGetPacket(client: ClientRef, packet: StoredPacket): Promise<StoredPacket> {
    const found = this.#incoming.get(client.id)?.get(packet.messageId ?? 0);
    if (!found) throw new Error('no such packet');
    return found;
  }

  async incomingDelPacket(client: ClientRef, packet: StoredPacket): Promise<void> {
    const store = this.#incoming.get(client.id);
    if (!store?.delete(packet.messageId ?? 0)) throw new Error('no such packet');
    if (store.size === 0) this.#incoming.delete(client.id);
    await this.#log({ o: 'd', c: client.id, i: packet.messageId ?? 0 });
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    if (!this.#incoming.delete(client.id)) return;
    await this.#log({ o: 'I', c: client.id });
  }

  // ---- whole sessions ---------------------------------------------------------------------------

  /**
   * Whether a session is stored for `clientId`: one a persistent connection left (even with nothing in it yet),
   * or anything it holds (subscriptions, queued messages, QoS 2 packets awaiting PUBREL).
   */
  hasSession(clientId: string): boolean {
    return (
      this.sessionOwners.has(clientId) ||
      this.#subs.has(clientId) ||
      this.#outgoing.has(clientId) ||
      this.#incoming.has(clientId)
    );
  }

  /** The client ids of every session stored (see hasSession). */
  sessionIds(): Set<string> {
    return new Set([
      ...[...this.sessionOwners.entries()].map(([id]) => id),
      ...this.#subs.keys(),
      ...this.#outgoing.keys(),
      ...this.#incoming.keys(),
    ]);
  }

  /** Forgets everything stored for a session: subscriptions, queued messages, inbound QoS 2 state. */
  async forgetSession(client: ClientRef): Promise<void> {
    await this.cleanSubscriptions(client);
    await this.outgoingClear(client);
    await this.cleanIncoming(client);
  }
}

async function* untilClosed(source: Readable, client: { closed: boolean }): AsyncGenerator<unknown> {
  try {
    for await (const packet of source) {
      if (client.closed) return;
      yield packet;
    }
  } finally {
    source.destroy();
  }
}
