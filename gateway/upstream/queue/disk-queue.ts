// The durable store-and-forward queue: append-only segment files plus a small persisted read cursor.
//
// Writers append (group commit: every append waiting at the same time shares one write and one fdatasync);
// one reader walks the records in order, hands them out and gets acknowledgements back. The cursor (the
// lowest unacknowledged record) is persisted often but without fsync: losing it only means re-sending
// (at-least-once), never losing. Whole segment files below the cursor are deleted, and the active one is replaced
// by an empty one once everything in it is acknowledged (a disk smaller than a segment). Memory use does not
// depend on the backlog: only one read chunk and the in-flight window live in memory.
//
// Damage costs only what it touches: a record that does not decode is skipped as one message (resync.ts), messages
// missing between two files are counted, and a file that cannot be read is a QueueReadError for the bridge to retry
// or skip (skipUnreadable). All of it is counted as dropped 'corrupt' and said through hooks.warn.
//
// Ages (max_age, the oldest message) are measured through record-ages.ts, so a step of the wall clock (NTP on a
// board without a real-time clock) neither expires nor immortalises what is queued.
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readdir, stat, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueConfig } from '../config.js';
import { CursorFile, type Position } from './cursor-file.js';
import { ACKNOWLEDGED, InflightWindow } from './inflight.js';
import { QueueReadError } from './read-error.js';
import {
  decodeRecord,
  decodeRecordView,
  encodeRecord,
  MIN_RECORD_BYTES,
  peekRecordTime,
  type QueueMessage,
  RECORD_HEADER_BYTES,
  type RecordView,
  VIEW_OK,
  VIEW_TRUNCATED,
} from './record.js';
import { EARLIER_RUN, type QueueClocks, RecordAges, SYSTEM_CLOCKS } from './record-ages.js';
import { findNextRecord } from './resync.js';
import { type SegmentScan, scanSegment } from './scan.js';
import { freeBytes } from './space.js';

export { QueueReadError } from './read-error.js';

/** Why a message left the queue without reaching upstream; `rejected` is the bridge's (the upstream refused it). */
export type DropReason = 'queue_full' | 'max_age' | 'disk_full' | 'corrupt' | 'rejected';
export type AppendResult = 'queued' | 'dropped';

export interface QueueHooks {
  /** Messages removed without being acknowledged upstream. */
  dropped(count: number, reason: DropReason): void;
  /** A write failed (ENOSPC, EIO...): the queue stops accepting until a retry succeeds. */
  diskFull(error: Error): void;
  recovered(): void;
  /** Damage found and got past (a damaged record skipped, a torn tail cut off, missing messages, an unusable
   * cursor.json): for the log. What it cost is counted through dropped(..., 'corrupt'). */
  warn(message: string, details: Record<string, unknown>): void;
  /** cursor.json cannot be written (not for a full disk): the error, or undefined once a write works again. */
  cursorFailing(error: string | undefined): void;
}

export interface QueuedMessage extends QueueMessage {
  seq: number;
}

export interface QueueStats {
  /** Messages accepted and not yet acknowledged upstream. */
  depth: number;
  /** Bytes of the queue files on disk. */
  bytes: number;
  segments: number;
  /** Enqueue time (ms) of the oldest unacknowledged message on the wall clock as it reads now (moved by the clock
   * steps seen since it was queued); undefined when there is none, or its age is unknown (record-ages.ts). */
  oldestTs: number | undefined;
  diskFull: boolean;
}

export interface QueueOptions {
  /** How long appends are refused after a failed write before trying again. */
  diskFullRetryMs?: number;
  cursorPersistMs?: number;
  ageCheckMs?: number;
  /** The clocks stamps and ages are taken from (tests step them). */
  clocks?: QueueClocks;
}

interface Segment {
  firstSeq: number;
  path: string;
  size: number;
  /** Its last record (seq, stamp) for max_age; a file from an earlier run has its mtime with EARLIER_RUN. */
  newest: { seq: number; ts: number } | undefined;
}

interface PendingAppend {
  buf: Buffer;
  done: (r: AppendResult) => void;
  /** The clock frame its stamp was taken in (RecordAges.frame). */
  frame: number;
}

const SEGMENT_RE = /^(\d{16})\.seg$/;
const CURSOR_FILE = 'cursor.json';
const READ_CHUNK = 1024 * 1024;
const MIN_FREE_TO_RESUME = 256 * 1024;
/** A fully acknowledged active file is replaced by an empty one once it holds this much (see #reclaimIfDone). */
const RECLAIM_BYTES = 1024 * 1024;

const segmentName = (firstSeq: number) => `${String(firstSeq).padStart(16, '0')}.seg`;

export class DiskQueue {
  #config: QueueConfig;
  #segments: Segment[] = [];
  #writer!: FileHandle;
  #writeSeq = 0;
  #pending: PendingAppend[] = [];
  #flushing: Promise<void> | undefined;
  #unsynced = false;
  /** A failed write left part of a record at the end of the file being written, and cutting it off failed too. */
  #partialRecord = false;
  #reader: Position = { seq: 0, segFirst: 0, offset: 0 };
  #readFh: { segFirst: number; fh: FileHandle } | undefined;
  #readBuf = Buffer.allocUnsafe(READ_CHUNK);
  /** What the read position decodes from: #readBuf, or the last write still in memory (#tail). */
  #readSrc: Buffer = this.#readBuf;
  /** The bytes of the last write (whole records), so a reader that caught up does not read them back. */
  #tail: { segFirst: number; start: number; buf: Buffer } | undefined;
  #readBufLen = 0;
  #readBufStart = 0;
  #readBufSeg = -1;
  readonly #view: RecordView = {
    buf: Buffer.alloc(0),
    topicStart: 0,
    topicEnd: 0,
    payloadEnd: 0,
    qos: 0,
    retain: false,
    ts: 0,
    bytes: 0,
  };
  #inflight = new InflightWindow();
  #cursorDirty = false;
  #dataWaiter: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Called whenever records become readable (a cheaper alternative to waitForData for a polling reader). */
  onData: (() => void) | undefined;
  #diskFull = false;
  #diskFullUntil = 0;
  /** The record at the cursor while none is handed out (an outage): its seq and stamp. */
  #oldest: { seq: number; ts: number } | undefined;
  readonly #clocks: QueueClocks;
  #ages!: RecordAges;
  #timers: NodeJS.Timeout[] = [];
  #closed = false;
  #housekeeping: Promise<void> = Promise.resolve();
  readonly #cursorFile: CursorFile;
  /** Messages below this were counted as lost to damage: a rewind that comes across the same damage again does
   * not count them twice. */
  #damageCountedTo = 0;
  /** The segment where the reader last skipped a damaged stretch (see #reportGap). */
  #damagedSeg = -1;

  private constructor(
    readonly dir: string,
    config: QueueConfig,
    private readonly hooks: QueueHooks,
    private readonly options: Required<QueueOptions>,
  ) {
    this.#config = config;
    this.#clocks = options.clocks;
    this.#cursorFile = new CursorFile(join(dir, CURSOR_FILE), {
      warn: (message, details) => hooks.warn(message, details),
      failing: (error) => hooks.cursorFailing(error),
    });
  }

  /** Opens (or creates) the queue in `dir`, recovering from a torn tail left by a crash or power loss. */
  static async open(dir: string, config: QueueConfig, hooks: QueueHooks, options: QueueOptions = {}) {
    const q = new DiskQueue(dir, config, hooks, {
      diskFullRetryMs: options.diskFullRetryMs ?? 5000,
      cursorPersistMs: options.cursorPersistMs ?? 100,
      ageCheckMs: options.ageCheckMs ?? 5000,
      clocks: options.clocks ?? SYSTEM_CLOCKS,
    });
    const recovery = await q.#load();
    q.#startTimers();
    return { queue: q, recovery };
  }

  /** New limits (reload). The directory and its contents are kept: a reload never wipes the queue. */
  reconfigure(config: QueueConfig): void {
    this.#config = config;
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
    this.#startTimers();
  }

  /** Resolves once the message is durable per the fsync policy ('queued'), or was refused ('dropped'). */
  append(msg: Omit<QueueMessage, 'ts'> & { ts?: number }): Promise<AppendResult> {
    return new Promise((resolve) => this.appendThen(msg.topic, msg.payload, msg.qos, msg.retain, resolve, msg.ts));
  }

  /** append() for the broker's hot path: `done` is called once the message is durable or was refused, without a
   * promise per message. */
  appendThen(
    topic: string,
    payload: Buffer,
    qos: 0 | 1 | 2,
    retain: boolean,
    done: (r: AppendResult) => void,
    ts?: number,
  ): void {
    if (this.#closed) {
      done('dropped');
      return;
    }
    const now = this.#ages.now();
    if (this.#diskFull && this.#clocks.mono() < this.#diskFullUntil) {
      this.hooks.dropped(1, 'disk_full');
      done('dropped');
      return;
    }
    const buf = encodeRecord(topic, payload, qos, retain, ts ?? now);
    this.#pending.push({ buf, done, frame: this.#ages.frame });
    this.#kick();
  }

  /** The segment the reader is in, moving the reader past finished segments; undefined when caught up. */
  #readerSegment(): { seg: Segment; nextSeg: Segment | undefined } | undefined {
    for (;;) {
      if (this.#closed || this.#reader.seq >= this.#writeSeq) return undefined;
      const segIdx = this.#segments.findIndex((s) => s.firstSeq === this.#reader.segFirst);
      const seg = this.#segments[segIdx];
      if (!seg) {
        const first = this.#segments[0];
        if (!first) return undefined;
        this.#reader = { seq: first.firstSeq, segFirst: first.firstSeq, offset: 0 };
        continue;
      }
      const nextSeg = this.#segments[segIdx + 1];
      if (this.#reader.offset >= seg.size) {
        this.#reportGap(seg, nextSeg);
        // In the file being written only damage can leave the count (seq) short of #writeSeq here.
        if (!nextSeg) {
          this.#reader = { seq: this.#writeSeq, segFirst: seg.firstSeq, offset: seg.size };
          return undefined;
        }
        this.#reader = { seq: nextSeg.firstSeq, segFirst: nextSeg.firstSeq, offset: 0 };
        continue;
      }
      return { seg, nextSeg };
    }
  }

  /** Every record of a file read, the next file (or the writer) should be at the next message: anything between
   * is lost. */
  #reportGap(seg: Segment, nextSeg: Segment | undefined): void {
    const from = this.#reader.seq;
    const end = nextSeg ? nextSeg.firstSeq : this.#writeSeq;
    const count = this.#dropDamaged(from, end);
    if (count === 0) return;
    this.#cursorDirty = true;
    const range = { file: seg.path, next: nextSeg?.path, from, to: end - 1, count };
    if (this.#damagedSeg === seg.firstSeq) {
      this.hooks.warn(`upstream queue: ${count} more messages were lost in the damaged part of ${seg.path}`, range);
      return;
    }
    const missing = nextSeg ? join(this.dir, segmentName(from)) : undefined;
    const cause = `${missing ? `${missing} was deleted, or ` : ''}${seg.path} was cut short`;
    this.hooks.warn(`upstream queue: messages ${from} to ${end - 1} are missing: ${cause}`, { ...range, missing });
  }

  /** Counts messages [from, to) as lost to damage, each once; returns how many were new. */
  #dropDamaged(from: number, to: number): number {
    const start = Math.max(from, this.#damageCountedTo);
    if (to <= start) return 0;
    this.#damageCountedTo = to;
    this.hooks.dropped(to - start, 'corrupt');
    return to - start;
  }

  /** Moves the reader past the rest of `seg` (damage nothing valid follows, a file that cannot be read): its
   * messages are counted as lost. Returns how many. */
  #skipRest(seg: Segment, nextSeg: Segment | undefined): number {
    const end = nextSeg ? nextSeg.firstSeq : this.#writeSeq;
    const count = this.#dropDamaged(this.#reader.seq, end);
    this.#reader = nextSeg
      ? { seq: nextSeg.firstSeq, segFirst: nextSeg.firstSeq, offset: 0 }
      : { seq: this.#writeSeq, segFirst: seg.firstSeq, offset: seg.size };
    this.#cursorDirty = true;
    return count;
  }

  /** A record at the reader that does not decode: skips it (one message) to the next valid record, or skips the
   * rest of the file when none follows. */
  async #recover(seg: Segment, nextSeg: Segment | undefined, offset: number): Promise<void> {
    let next: number | undefined;
    try {
      next = await findNextRecord(await this.#readHandle(seg), offset, seg.size);
    } catch (err) {
      if (this.#readerMoved(seg, offset)) return;
      throw this.#readError(seg, nextSeg, err);
    }
    if (this.#readerMoved(seg, offset)) return;
    if (next === undefined) {
      this.#damagedSeg = seg.firstSeq;
      const count = this.#skipRest(seg, nextSeg);
      if (count > 0) {
        this.hooks.warn(`upstream queue: skipped the damaged rest of ${seg.path} from byte ${offset}`, {
          file: seg.path,
          offset,
          count,
        });
      }
      return;
    }
    this.#skipDamagedRecord(seg, offset, next);
  }

  /** Moves the reader from the damaged record at `offset` (one message) to the valid record at `next`. */
  #skipDamagedRecord(seg: Segment, offset: number, next: number): void {
    this.#damagedSeg = seg.firstSeq;
    const seq = this.#reader.seq;
    if (this.#dropDamaged(seq, seq + 1) > 0) {
      this.hooks.warn(`upstream queue: skipped a damaged record in ${seg.path} at byte ${offset}`, {
        file: seg.path,
        offset,
        bytes: next - offset,
        count: 1,
      });
    }
    this.#reader = { seq: seq + 1, segFirst: seg.firstSeq, offset: next };
    this.#cursorDirty = true;
  }

  /** The reader left `offset` of `seg` while an await was pending (the file was dropped, or a rewind). */
  #readerMoved(seg: Segment, offset: number): boolean {
    return this.#reader.segFirst !== seg.firstSeq || this.#reader.offset !== offset;
  }

  #readError(seg: Segment, nextSeg: Segment | undefined, err: unknown): QueueReadError {
    return new QueueReadError(seg.path, (nextSeg ? nextSeg.firstSeq : this.#writeSeq) - this.#reader.seq, err);
  }

  /** Moves the reader past the file `err` is about, if it is still there; its messages count as lost (corrupt).
   * Returns how many. */
  skipUnreadable(err: QueueReadError): number {
    const at = this.#readerSegment();
    return at && at.seg.path === err.path ? this.#skipRest(at.seg, at.nextSeg) : 0;
  }

  /**
   * Hands out up to `max` records (and about `maxBytes`) in order, each to `visit` synchronously. The view
   * points into the read buffer and is valid only during the call: copy what you keep. One await per read
   * chunk instead of one per record, and no per-record copies. Returns how many were handed out (0: caught up).
   * After a rewind, records acknowledged since they were handed out are passed over (readSeq() tells how far the
   * reader got), and `sentAs` is the packet id a record was sent with before (0: not sent before with one, see
   * sentWith; SENT_BEFORE: sent before, its id forgotten, see forgetSentIds).
   */
  async readBatch(
    max: number,
    maxBytes: number,
    visit: (view: RecordView, seq: number, sentAs: number) => void,
  ): Promise<number> {
    const view = this.#view;
    let count = 0;
    let bytes = 0;
    while (count < max && bytes < maxBytes) {
      const at = this.#readerSegment();
      if (!at) break;
      const { seg, nextSeg } = at;
      const off = this.#reader.offset;
      const inMemory = this.#inReadBuf(seg, off) || this.#useTail(seg, off);
      let status = inMemory ? decodeRecordView(this.#readSrc, off - this.#readBufStart, this.#readBufLen, view) : -1;
      if (status === -1 || status === VIEW_TRUNCATED) {
        if (count > 0) break; // hand out what we have; the next call reads on
        // At most two reads: a chunk, then (a record larger than the chunk) the whole record.
        let want = Math.max(READ_CHUNK, status === VIEW_TRUNCATED ? view.bytes : 0);
        for (let reads = 0; reads < 2; reads++) {
          await this.#fillAt(seg, nextSeg, off, want);
          if (this.#readerMoved(seg, off)) break; // dropped meanwhile
          status = decodeRecordView(this.#readSrc, 0, this.#readBufLen, view);
          if (status !== VIEW_TRUNCATED || view.bytes <= want) break; // a short segment tail is damage below
          want = view.bytes;
        }
        if (this.#readerMoved(seg, off)) continue;
      }
      if (status !== VIEW_OK) {
        if (count > 0) break; // recovering reads the file: hand out what we have first
        await this.#recover(seg, nextSeg, off);
        continue;
      }
      // Every whole record already in the buffer, without awaiting.
      const limit = this.#ageLimit();
      const reader = this.#reader;
      let bufOff = off - this.#readBufStart;
      for (;;) {
        const seq = reader.seq;
        const offset = reader.offset;
        reader.seq = seq + 1;
        reader.offset = offset + view.bytes;
        bufOff += view.bytes;
        if (this.#ages.before(seq, view.ts, limit)) {
          this.hooks.dropped(1, 'max_age');
          this.#cursorDirty = true;
        } else {
          const sentAs = this.#inflight.lastSent(seq);
          this.#inflight.push(seq, reader.segFirst, offset, view.ts, sentAs);
          if (sentAs === ACKNOWLEDGED) {
            this.#cursorDirty = true;
          } else {
            visit(view, seq, sentAs);
            count++;
            bytes += view.bytes;
          }
        }
        if (count >= max || bytes >= maxBytes || reader.seq >= this.#writeSeq || reader.offset >= seg.size) break;
        if (decodeRecordView(this.#readSrc, bufOff, this.#readBufLen, view) !== VIEW_OK) break;
      }
    }
    return count;
  }

  /** The next record after the last one handed out, or undefined when the reader caught up. */
  async next(): Promise<QueuedMessage | undefined> {
    for (;;) {
      const at = this.#readerSegment();
      if (!at) return undefined;
      const { seg, nextSeg } = at;
      const off = this.#reader.offset;
      let res: ReturnType<typeof decodeRecord>;
      try {
        res = await this.#decodeAt(seg, off);
      } catch (err) {
        if (this.#readerMoved(seg, off)) continue;
        throw this.#readError(seg, nextSeg, err);
      }
      if (this.#readerMoved(seg, off)) continue; // segment dropped while reading
      if (!res.ok) {
        await this.#recover(seg, nextSeg, off);
        continue;
      }
      const pos = { ...this.#reader };
      this.#reader = { seq: pos.seq + 1, segFirst: pos.segFirst, offset: pos.offset + res.bytes };
      if (this.#ages.before(pos.seq, res.message.ts, this.#ageLimit())) {
        this.hooks.dropped(1, 'max_age');
        this.#cursorDirty = true;
        continue;
      }
      const sentAs = this.#inflight.lastSent(pos.seq);
      this.#inflight.push(pos.seq, pos.segFirst, pos.offset, res.message.ts, sentAs);
      if (sentAs === ACKNOWLEDGED) {
        this.#cursorDirty = true;
        continue;
      }
      return { ...res.message, seq: pos.seq };
    }
  }

  /** Records stamped before this are older than max_age (reads the clocks). */
  #ageLimit(): number {
    return this.#ages.now() - this.#config.max_age * 1000;
  }

  /** Resolves when a record is available to next() (or the queue closes). */
  waitForData(): Promise<void> {
    if (this.#closed || this.#reader.seq < this.#writeSeq) return Promise.resolve();
    if (!this.#dataWaiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#dataWaiter = { promise, resolve };
    }
    return this.#dataWaiter.promise;
  }

  #notifyData(): void {
    const w = this.#dataWaiter;
    this.#dataWaiter = undefined;
    w?.resolve();
    this.onData?.();
  }

  /** The record was acknowledged upstream (or sent at QoS 0): it may be deleted. */
  ack(seq: number): void {
    if (this.#inflight.delete(seq)) this.#cursorDirty = true;
  }

  /** The record handed out was written to the upstream with `packetId`: a rewind hands it out again with it. */
  sentWith(seq: number, packetId: number): void {
    this.#inflight.sentWith(seq, packetId);
  }

  /** Each packet id the next rewind hands a record out again with (InflightWindow.forEachResendId). */
  forEachResendId(fn: (packetId: number) => void): void {
    this.#inflight.forEachResendId(fn);
  }

  /** The upstream did not keep the session: the records are sent again under new packet ids, not those of the
   * session before (InflightWindow.forgetIds). */
  forgetSentIds(): void {
    this.#inflight.forgetIds();
  }

  /** Forget what was handed out but not acknowledged (connection lost): next() starts again from there. Records
   * acknowledged meanwhile are passed over, the others handed out with the packet id they were sent with. */
  rewind(): void {
    this.#reader = this.#cursor();
    this.#inflight.rewind();
  }

  /** True while records handed out are waiting for their acknowledgement. */
  inflightCount(): number {
    return this.#inflight.size;
  }

  /** The seq of the next record the reader comes to: every record below it was handed out or passed over
   * (acknowledged before a rewind, expired, damaged). */
  readSeq(): number {
    return this.#reader.seq;
  }

  /** Records accepted but not yet handed out by next(). */
  unreadCount(): number {
    return Math.max(0, this.#writeSeq - this.#reader.seq);
  }

  stats(): QueueStats {
    const first = this.#inflight.first();
    const depth = Math.max(0, this.#writeSeq - this.#cursor().seq);
    const oldest = depth === 0 ? undefined : (first ?? this.#oldest);
    this.#ages.now();
    return {
      depth,
      bytes: this.#totalBytes(),
      segments: this.#segments.length,
      oldestTs: oldest && this.#ages.current(oldest.seq, oldest.ts),
      diskFull: this.#diskFull,
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    for (const t of this.#timers) clearInterval(t);
    while (this.#flushing) await this.#flushing;
    this.#closed = true;
    this.#notifyData();
    await this.#housekeeping;
    await this.#persistCursor();
    if (this.#config.fsync !== 'never') await this.#writer.datasync().catch(() => {});
    await this.#writer.close().catch(() => {});
    await this.#readFh?.fh.close().catch(() => {});
    this.#readFh = undefined;
  }

  // ---- writing ----

  #kick(): void {
    if (!this.#flushing) void this.#holdWriter(() => this.#flushLoop());
  }

  /** Runs `fn` as the only user of the writer: appends wait in #pending meanwhile and are written after it. */
  #holdWriter(fn: () => Promise<void>): Promise<void> {
    const run = fn().finally(() => {
      this.#flushing = undefined;
      if (this.#pending.length > 0 && !this.#closed) this.#kick();
    });
    this.#flushing = run;
    return run;
  }

  async #flushLoop(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      const written: PendingAppend[] = [];
      const refused = new Set<PendingAppend>();
      let chunk: PendingAppend[] = [];
      let chunkBytes = 0;
      const writeChunk = async () => {
        await this.#writeChunk(chunk, written);
        chunk = [];
        chunkBytes = 0;
      };
      try {
        // Bytes in the segment files; the chunk being gathered is not in them yet.
        let onDisk = this.#totalBytes();
        for (const item of batch) {
          const len = item.buf.length;
          const { max_bytes } = this.#config;
          // The common case needs no room made and no new segment: no await per record.
          if (
            onDisk + chunkBytes + len <= max_bytes &&
            this.#active().size + chunkBytes + len <= this.#segmentBytes()
          ) {
            chunk.push(item);
            chunkBytes += len;
            continue;
          }
          if (!(await this.#makeRoom(() => len + chunkBytes, writeChunk))) {
            refused.add(item);
            onDisk = this.#totalBytes();
            continue;
          }
          const active = this.#active();
          if (active.size + chunkBytes + len > this.#segmentBytes() && active.size + chunkBytes > 0) {
            await writeChunk();
            await this.#rotate();
          }
          chunk.push(item);
          chunkBytes += len;
          onDisk = this.#totalBytes();
        }
        await writeChunk();
        if (this.#config.fsync === 'always' && written.length > 0) await this.#writer.datasync();
        if (this.#diskFull && written.length > 0) {
          this.#diskFull = false;
          this.hooks.recovered();
        }
      } catch (err) {
        // What reached the file stays (whole records, counted); the rest of the batch is refused.
        const done = new Set(written);
        const lost = batch.filter((b) => !done.has(b) && !refused.has(b));
        if (lost.length > 0) this.hooks.dropped(lost.length, 'disk_full');
        for (const b of lost) b.done('dropped');
        this.#diskFullUntil = this.#clocks.mono() + this.options.diskFullRetryMs;
        if (!this.#diskFull) {
          this.#diskFull = true;
          this.hooks.diskFull(err instanceof Error ? err : new Error(String(err)));
          this.#probeSpace();
        }
      }
      if (refused.size > 0) this.hooks.dropped(refused.size, 'queue_full');
      for (const r of refused) r.done('dropped');
      for (const w of written) w.done('queued');
    }
  }

  /** While refusing writes, frees what is acknowledged and checks the free space now and then, so recovery does
   * not wait for a publish. */
  #probeSpace(): void {
    const t = setTimeout(() => {
      this.#housekeeping = this.#housekeeping.then(async () => {
        if (this.#closed || !this.#diskFull) return;
        await this.#reclaimIfDone();
        const free = await freeBytes(this.dir);
        if (free !== undefined && free >= MIN_FREE_TO_RESUME && this.#diskFull) {
          this.#diskFull = false;
          this.#diskFullUntil = 0;
          this.hooks.recovered();
          return;
        }
        this.#probeSpace();
      });
    }, this.options.diskFullRetryMs);
    t.unref();
  }

  async #writeChunk(chunk: PendingAppend[], written: PendingAppend[]): Promise<void> {
    if (chunk.length === 0) return;
    const seg = this.#active();
    if (this.#partialRecord) {
      // Written after the partial record, records would not be where seg.size says: cut it now or write nothing.
      await this.#writer.truncate(seg.size);
      this.#partialRecord = false;
    }
    const data = chunk.length === 1 ? chunk[0]!.buf : Buffer.concat(chunk.map((c) => c.buf));
    try {
      // A short write (disk filling up) is continued; the next write then reports the real error (ENOSPC).
      for (let done = 0; done < data.length; ) {
        const { bytesWritten } = await this.#writer.write(data, done, data.length - done, null);
        if (bytesWritten === 0) throw new Error(`wrote 0 bytes (${done} of ${data.length})`);
        done += bytesWritten;
      }
    } catch (err) {
      // Cut a partial record off so the file stays a sequence of whole records.
      await this.#writer.truncate(seg.size).catch(() => {
        this.#partialRecord = true;
      });
      throw err;
    }
    this.#tail = data.length <= READ_CHUNK ? { segFirst: seg.firstSeq, start: seg.size, buf: data } : undefined;
    seg.size += data.length;
    for (let i = 0; i < chunk.length; i++) this.#ages.written(this.#writeSeq + i, chunk[i]!.frame);
    const lastSeq = this.#writeSeq + chunk.length - 1;
    seg.newest = { seq: lastSeq, ts: peekRecordTime(chunk[chunk.length - 1]!.buf)! };
    // The first message of an empty queue is its oldest (otherwise refreshed only when the cursor is persisted,
    // which an outage never does).
    if (this.#oldest === undefined || this.#writeSeq === this.#cursor().seq) {
      this.#oldest = { seq: this.#writeSeq, ts: peekRecordTime(chunk[0]!.buf)! };
    }
    this.#writeSeq += chunk.length;
    this.#unsynced = true;
    written.push(...chunk);
    this.#notifyData();
  }

  /** Ensures `len` more bytes fit in max_bytes, dropping old segments when the policy says so. */
  async #makeRoom(needed: () => number, flushChunk: () => Promise<void>): Promise<boolean> {
    const max = this.#config.max_bytes;
    if (needed() > max) return false;
    while (this.#totalBytes() + needed() > max) {
      if (this.#config.when_full === 'drop_newest') return false;
      if (this.#segments.length === 1) {
        if (this.#active().size === 0) return false;
        await flushChunk();
        await this.#rotate();
        continue;
      }
      this.#dropOldestSegment('queue_full');
    }
    return true;
  }

  async #rotate(): Promise<void> {
    if (this.#config.fsync !== 'never') await this.#writer.datasync();
    const { seg, fh } = await this.#openSegment();
    await this.#switchWriter(seg, fh);
    if (this.#config.fsync === 'always') await this.#syncDir();
  }

  /** A new, empty file for the records from #writeSeq on. */
  async #openSegment(): Promise<{ seg: Segment; fh: FileHandle }> {
    const seg: Segment = {
      firstSeq: this.#writeSeq,
      path: join(this.dir, segmentName(this.#writeSeq)),
      size: 0,
      newest: undefined,
    };
    return { seg, fh: await open(seg.path, 'a') };
  }

  /** Appends go to `seg` from now on (switched before the first await). */
  async #switchWriter(seg: Segment, fh: FileHandle): Promise<void> {
    const old = this.#writer;
    this.#writer = fh;
    this.#partialRecord = false; // left behind in the old file, past the end the reader goes to
    this.#segments.push(seg);
    await old.close().catch(() => {});
  }

  #dropOldestSegment(reason: DropReason): void {
    const old = this.#segments.shift();
    const next = this.#segments[0];
    if (!old || !next) throw new Error('cannot drop the active segment');
    const from = Math.max(this.#cursor().seq, old.firstSeq);
    if (next.firstSeq > from) this.hooks.dropped(next.firstSeq - from, reason);
    if (this.#reader.seq < next.firstSeq || this.#reader.segFirst === old.firstSeq) {
      this.#reader = { seq: next.firstSeq, segFirst: next.firstSeq, offset: 0 };
    }
    this.#inflight.dropBelow(next.firstSeq);
    if (this.#readBufSeg === old.firstSeq) this.#readBufSeg = -1;
    this.#cursorDirty = true;
    this.#housekeeping = this.#housekeeping.then(() => this.#unlinkSegment(old));
  }

  async #unlinkSegment(seg: Segment): Promise<void> {
    if (this.#readFh?.segFirst === seg.firstSeq) {
      const { fh } = this.#readFh;
      this.#readFh = undefined;
      await fh.close().catch(() => {});
    }
    await unlink(seg.path).catch(() => {});
  }

  // ---- reading ----

  async #decodeAt(seg: Segment, offset: number) {
    const inBuffer = () =>
      this.#readBufSeg === seg.firstSeq &&
      offset >= this.#readBufStart &&
      offset + RECORD_HEADER_BYTES <= this.#readBufStart + this.#readBufLen;
    if (!inBuffer()) await this.#fill(seg, offset, READ_CHUNK);
    const view = () => this.#readSrc.subarray(offset - this.#readBufStart, this.#readBufLen);
    let res = decodeRecord(view());
    if (!res.ok && res.reason === 'truncated') {
      await this.#fill(seg, offset, Math.max(READ_CHUNK, res.needed));
      res = decodeRecord(view());
    }
    return res;
  }

  /** Whether `offset` of `seg` is in what the read position decodes from. */
  #inReadBuf(seg: Segment, offset: number): boolean {
    return (
      this.#readBufSeg === seg.firstSeq &&
      offset >= this.#readBufStart &&
      offset < this.#readBufStart + this.#readBufLen
    );
  }

  /** Points the read position at the last write when `offset` of `seg` is in it (no read needed). */
  #useTail(seg: Segment, offset: number): boolean {
    const t = this.#tail;
    if (!t || t.segFirst !== seg.firstSeq || offset < t.start || offset >= t.start + t.buf.length) return false;
    this.#readSrc = t.buf;
    this.#readBufStart = t.start;
    this.#readBufLen = t.buf.length;
    this.#readBufSeg = seg.firstSeq;
    return true;
  }

  /** #fill for readBatch: a failure is a QueueReadError, unless the reader moved on meanwhile. */
  async #fillAt(seg: Segment, nextSeg: Segment | undefined, offset: number, want: number): Promise<void> {
    try {
      await this.#fill(seg, offset, want);
    } catch (err) {
      if (!this.#readerMoved(seg, offset)) throw this.#readError(seg, nextSeg, err);
    }
  }

  async #fill(seg: Segment, offset: number, want: number): Promise<void> {
    const fh = await this.#readHandle(seg);
    const len = Math.max(0, Math.min(want, seg.size - offset));
    if (len > this.#readBuf.length) this.#readBuf = Buffer.allocUnsafe(len);
    const { bytesRead } = await fh.read(this.#readBuf, 0, len, offset);
    this.#readSrc = this.#readBuf;
    this.#readBufLen = bytesRead;
    this.#readBufStart = offset;
    this.#readBufSeg = seg.firstSeq;
  }

  async #readHandle(seg: Segment): Promise<FileHandle> {
    if (this.#readFh?.segFirst !== seg.firstSeq) {
      await this.#readFh?.fh.close().catch(() => {});
      this.#readFh = undefined;
      this.#readFh = { segFirst: seg.firstSeq, fh: await open(seg.path, 'r') };
    }
    return this.#readFh.fh;
  }

  // ---- cursor, housekeeping ----

  #cursor(): Position {
    const first = this.#inflight.first();
    if (!first) return { ...this.#reader };
    const { seq, segFirst, offset } = first;
    return { seq, segFirst, offset };
  }

  async #persistCursor(): Promise<void> {
    if (!this.#cursorDirty) return;
    const c = this.#cursor();
    const written = await this.#writeCursor(c);
    // Files wholly below the cursor are done: deleted once the cursor is written. When it cannot be written (disk
    // full) they are deleted all the same, to make room for it: a restart whose cursor points into a deleted file
    // starts at the oldest file left, which is never past the real cursor (re-sends, never loses).
    await this.#unlinkAcknowledged(c.seq);
    this.#ages.forgetBelow(c.seq);
    if (written) {
      await this.#refreshOldest(c);
      return;
    }
    // Acknowledgements that came meanwhile marked the cursor dirty: the retry clears that, so it writes the cursor
    // as it is now (a stale one would stay on disk until the next acknowledgement).
    const now = this.#cursor();
    if (await this.#writeCursor(now)) await this.#refreshOldest(now);
  }

  /** Writes the cursor; false when the disk refused it (retried on the next tick). */
  async #writeCursor(c: Position): Promise<boolean> {
    this.#cursorDirty = false;
    const written = await this.#cursorFile.write(c);
    if (!written) this.#cursorDirty = true;
    return written;
  }

  async #unlinkAcknowledged(cursorSeq: number): Promise<void> {
    while (this.#segments.length > 1 && this.#segments[1]!.firstSeq <= cursorSeq) {
      await this.#unlinkSegment(this.#segments.shift()!);
    }
  }

  /**
   * Only whole files below the cursor are deleted, so the active file (the only one of a queue whose disk has less
   * room than segment_bytes) would keep acknowledged data until it is full, or fill the disk. Once everything in it
   * is acknowledged and it holds RECLAIM_BYTES (any amount while the disk is full) the queue goes on in a new, empty
   * file and deletes the old: at most one file created and one deleted per RECLAIM_BYTES sent, and only when idle.
   */
  async #reclaimIfDone(): Promise<void> {
    const worth = () => this.#active().size >= (this.#diskFull ? 1 : RECLAIM_BYTES) && this.#allAcknowledged();
    if (!worth()) return;
    while (this.#flushing) await this.#flushing.catch(() => {});
    if (this.#closed || !worth()) return;
    await this.#holdWriter(() => this.#replaceActive());
  }

  /** Everything written was handed out and acknowledged (or dropped). */
  #allAcknowledged(): boolean {
    return this.#inflight.size === 0 && this.#reader.seq >= this.#writeSeq;
  }

  /** With the writer held and everything acknowledged: a new active file, the cursor at its start, the old deleted. */
  async #replaceActive(): Promise<void> {
    let opened: { seg: Segment; fh: FileHandle };
    try {
      opened = await this.#openSegment();
    } catch {
      return; // no room even for an empty file: the next tick tries again
    }
    const done = this.#segments.splice(0);
    await this.#switchWriter(opened.seg, opened.fh);
    this.#tail = undefined;
    this.#readBufSeg = -1;
    this.#reader = { seq: this.#writeSeq, segFirst: this.#writeSeq, offset: 0 };
    if (this.#config.fsync === 'always') await this.#syncDir();
    // Cursor first, then the data; if the disk is too full for the cursor, deleting acknowledged data is still safe
    // (see #persistCursor) and makes room for it.
    const written = await this.#writeCursor(this.#reader);
    for (const seg of done) await this.#unlinkSegment(seg);
    if (!written) await this.#writeCursor(this.#reader);
  }

  async #refreshOldest(c: Position): Promise<void> {
    const seg = this.#segments.find((s) => s.firstSeq === c.segFirst);
    if (!seg || c.offset >= seg.size) {
      this.#oldest = undefined;
      return;
    }
    let fh: FileHandle | undefined;
    try {
      fh = await open(seg.path, 'r');
      const head = Buffer.alloc(RECORD_HEADER_BYTES + 7);
      const { bytesRead } = await fh.read(head, 0, head.length, c.offset);
      const ts = peekRecordTime(head.subarray(0, bytesRead));
      this.#oldest = ts === undefined ? undefined : { seq: c.seq, ts };
    } catch {
      this.#oldest = undefined;
    } finally {
      await fh?.close().catch(() => {});
    }
  }

  #startTimers(): void {
    const tick = (fn: () => Promise<void>, ms: number) => {
      let busy = false;
      const t = setInterval(() => {
        if (busy || this.#closed) return;
        busy = true;
        fn().finally(() => {
          busy = false;
        });
      }, ms);
      t.unref();
      this.#timers.push(t);
    };
    tick(
      () =>
        (this.#housekeeping = this.#housekeeping.then(async () => {
          await this.#reclaimIfDone();
          await this.#persistCursor();
        })),
      this.options.cursorPersistMs,
    );
    tick(async () => this.#dropExpiredSegments(), this.options.ageCheckMs);
    if (this.#config.fsync === 'interval') {
      tick(async () => {
        if (!this.#unsynced || this.#flushing) return;
        this.#unsynced = false;
        await this.#writer.datasync().catch(() => {});
      }, this.#config.fsync_interval);
    }
  }

  /** Drops whole files whose last record is older than max_age (one of unknown age stops it: read one by one). */
  #dropExpiredSegments(): void {
    const limit = this.#ageLimit();
    for (;;) {
      const newest = this.#segments.length > 1 ? this.#segments[0]!.newest : undefined;
      if (!newest || !this.#ages.before(newest.seq, newest.ts, limit)) return;
      this.#dropOldestSegment('max_age');
    }
  }

  async #syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r').catch(() => undefined);
    await fh?.sync().catch(() => {});
    await fh?.close().catch(() => {});
  }

  #active(): Segment {
    return this.#segments[this.#segments.length - 1]!;
  }

  #totalBytes(): number {
    return this.#segments.reduce((n, s) => n + s.size, 0);
  }

  #segmentBytes(): number {
    // At most a quarter of the budget per file, so drop_oldest never drops more than that at once.
    return Math.max(64 * 1024, Math.min(this.#config.segment_bytes, Math.floor(this.#config.max_bytes / 4)));
  }

  async #load(): Promise<{ truncatedBytes: number; depth: number }> {
    await mkdir(this.dir, { recursive: true });
    const cursor = await this.#cursorFile.read();
    this.#segments = await listSegments(this.dir);
    let truncatedBytes = 0;
    let scan: SegmentScan = { validBytes: 0, count: 0, countAtCursor: 0, cursorInDamage: undefined };
    if (this.#segments.length === 0) {
      const firstSeq = cursor?.seq ?? 0;
      const path = join(this.dir, segmentName(firstSeq));
      this.#segments.push({ firstSeq, path, size: 0, newest: undefined });
      this.#writeSeq = firstSeq;
    } else {
      const last = this.#active();
      scan = await scanSegment(last.path, cursor?.segFirst === last.firstSeq ? cursor.offset : -1);
      truncatedBytes = await this.#cutTornTail(last, scan.validBytes);
      this.#writeSeq = last.firstSeq + scan.count;
    }
    this.#writer = await open(this.#active().path, 'a');

    const first = this.#segments[0]!;
    this.#reader = this.#placeCursor(cursor, scan) ?? { seq: first.firstSeq, segFirst: first.firstSeq, offset: 0 };
    while (this.#segments.length > 1 && this.#segments[0]!.firstSeq < this.#reader.segFirst) {
      await unlink(this.#segments.shift()!.path).catch(() => {});
    }
    this.#ages = new RecordAges(this.#clocks, this.#writeSeq, (message, details) => this.hooks.warn(message, details));
    await this.#refreshOldest(this.#reader);
    return { truncatedBytes, depth: this.#writeSeq - this.#reader.seq };
  }

  /** Cuts off what follows the last whole record of the file being written (a torn write, or damage that nothing
   * valid follows): one message lost. Returns the bytes cut off. */
  async #cutTornTail(last: Segment, validBytes: number): Promise<number> {
    const bytes = last.size - validBytes;
    if (bytes <= 0) return 0;
    await truncate(last.path, validBytes);
    last.size = validBytes;
    this.hooks.dropped(1, 'corrupt');
    this.hooks.warn(
      `upstream queue: cut off ${bytes} bytes at the end of ${last.path} from byte ${validBytes} (a write torn by a crash or power loss, or damage): 1 message lost`,
      { file: last.path, offset: validBytes, bytes, count: 1 },
    );
    return bytes;
  }

  /**
   * The saved cursor, when it points at a message of a file there is; undefined means starting from the oldest
   * file (sending again, never losing). In the file being written the scan counted a damaged stretch as one
   * message: when the cursor lies after one, it knows better how many there were, and the count follows it. When
   * it lies inside one, its message is lost (counted, said) and the reading goes on after the stretch.
   */
  #placeCursor(cursor: Position | undefined, lastScan: SegmentScan): Position | undefined {
    if (!cursor) return undefined;
    const idx = this.#segments.findIndex((s) => s.firstSeq === cursor.segFirst);
    const seg = this.#segments[idx];
    if (!seg || cursor.offset > seg.size || cursor.seq < seg.firstSeq) return undefined;
    if ((cursor.seq - seg.firstSeq) * MIN_RECORD_BYTES > cursor.offset) return undefined; // more messages than fit
    const next = this.#segments[idx + 1];
    if (next) return cursor.seq <= next.firstSeq ? cursor : undefined;
    const damage = lastScan.cursorInDamage;
    if (damage) {
      // The message at the cursor is lost; the reader goes on with the record the scan counted after the stretch.
      const uncounted = cursor.seq - (seg.firstSeq + damage.countBefore);
      if (uncounted < 0) return undefined;
      this.#writeSeq += uncounted;
      this.#reader = cursor;
      this.#skipDamagedRecord(seg, cursor.offset, damage.resumeAt);
      return this.#reader;
    }
    if (lastScan.countAtCursor === undefined) return undefined; // not at a record
    const uncounted = cursor.seq - (seg.firstSeq + lastScan.countAtCursor);
    if (uncounted < 0) return undefined;
    this.#writeSeq += uncounted;
    return cursor;
  }
}

async function listSegments(dir: string): Promise<Segment[]> {
  const firstSeqs = (await readdir(dir))
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (const firstSeq of firstSeqs) {
    const path = join(dir, segmentName(firstSeq));
    const st = await stat(path);
    segments.push({ firstSeq, path, size: st.size, newest: { seq: EARLIER_RUN, ts: st.mtimeMs } });
  }
  return segments;
}
