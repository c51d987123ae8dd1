// How old a queued message is, when the wall clock steps while it waits.
//
// Records keep the wall-clock time they were queued at (the on-disk format), but a gateway without a real-time
// clock starts at 1970 or at an old fake-hwclock time, and NTP later steps the clock: read against the new time,
// everything queued before the step would look decades old and be dropped for max_age, and after a backward step
// it would look young for as long as the step. So within one run the stamps are read through the monotonic clock:
// each stamp belongs to a frame, the wall-minus-monotonic offset when it was taken. A change of that offset by more
// than STEP_MS is a step and starts a new frame; a stamp from an older frame is moved by the step(s) since, in
// memory (current()). The offset is compared with its value when the frame began, so slow NTP slewing adds up
// until it counts as a step too, which then corrects it. (A suspend stops the monotonic clock: it looks like a step
// forward, and the time suspended is not counted.)
//
// The offsets of an earlier run are not known: its records are taken at their stored time, except that one before
// UNSET_CLOCK_BEFORE_MS or in the future (the clock was wrong then, or is now) has an unknown age and is never dropped for
// max_age (said once). A record queued at a wrong time that was still after the floor (an old fake-hwclock time)
// and read after a restart is aged by that time.

import { UNSET_CLOCK_BEFORE_MS } from '../../clock-floor.js';

export interface QueueClocks {
  /** Wall-clock time, ms since the epoch (steps with the system clock). */
  wall(): number;
  /** A clock that never steps (ms, any origin). */
  mono(): number;
}

export const SYSTEM_CLOCKS: QueueClocks = { wall: () => Date.now(), mono: () => performance.now() };

/** A change of the wall-minus-monotonic offset above this is a clock step (below it: slewing, jitter). */
const STEP_MS = 2000;
/** Frames kept at most; beyond, the two oldest are merged (ages then err by the step between them). */
const MAX_FRAMES = 1000;

/** The sequence number to age a stamp with that comes from before this run (a queue file's mtime). */
export const EARLIER_RUN = -1;

export class RecordAges {
  /** The wall-minus-monotonic offset of the current frame. */
  #offset: number;
  /** Records from `fromSeq` on (up to the next frame's) were stamped with this offset; fromSeq ascending. */
  readonly #frames: Array<{ fromSeq: number; offset: number }>;
  #wall: number;
  #warned = false;

  /** `runFirstSeq`: the first record this run writes; the ones below come from an earlier run. */
  constructor(
    private readonly clocks: QueueClocks,
    private readonly runFirstSeq: number,
    private readonly warn: (message: string, details: Record<string, unknown>) => void,
  ) {
    this.#wall = clocks.wall();
    this.#offset = this.#wall - clocks.mono();
    this.#frames = [{ fromSeq: runFirstSeq, offset: this.#offset }];
  }

  /** Reads the clocks (noticing a step) and returns the wall-clock time. */
  now(): number {
    const wall = this.clocks.wall();
    const offset = wall - this.clocks.mono();
    if (Math.abs(offset - this.#offset) > STEP_MS) this.#offset = offset;
    this.#wall = wall;
    return wall;
  }

  /** The frame a stamp taken now belongs to: given back to written() with the record. */
  get frame(): number {
    return this.#offset;
  }

  /** Record `seq` (stamped in `frame`) is written; records are written in seq order. */
  written(seq: number, frame: number): void {
    if (this.#frames[this.#frames.length - 1]!.offset === frame) return;
    this.#frames.push({ fromSeq: seq, offset: frame });
    if (this.#frames.length > MAX_FRAMES) this.#frames.splice(1, 1);
  }

  /** Records below `seq` are gone: their frames are no longer needed. */
  forgetBelow(seq: number): void {
    while (this.#frames.length > 1 && this.#frames[1]!.fromSeq <= seq) this.#frames.shift();
  }

  /** The stamp `ts` of record `seq` on the wall clock as now() last read it (moved by the steps since it was
   * taken), or undefined when its age is unknown. */
  current(seq: number, ts: number): number | undefined {
    // The difference first: without a step it is exactly 0 and the stamp comes back unchanged.
    if (seq >= this.runFirstSeq) return ts + (this.#offset - this.#frameOffset(seq));
    if (ts >= UNSET_CLOCK_BEFORE_MS && ts <= this.#wall + STEP_MS) return ts;
    if (!this.#warned) {
      this.#warned = true;
      this.warn(
        `upstream queue: messages queued in an earlier run carry a time before ${new Date(UNSET_CLOCK_BEFORE_MS).toISOString()} or in the future (the clock was wrong then, or is now): their age is unknown, they are not dropped for max_age`,
        { stamp: new Date(ts).toISOString(), now: new Date(this.#wall).toISOString() },
      );
    }
    return undefined;
  }

  /** Whether record `seq`, stamped `ts`, was queued before `limit` (a time as now() returned it). */
  before(seq: number, ts: number, limit: number): boolean {
    const t = this.current(seq, ts);
    return t !== undefined && t < limit;
  }

  /** The offset of the last frame starting at or below `seq` (binary search). */
  #frameOffset(seq: number): number {
    let lo = 0;
    let hi = this.#frames.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#frames[mid]!.fromSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return this.#frames[lo]!.offset;
  }
}
