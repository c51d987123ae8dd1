// Bounds the heap while a backlog is queued or draining. With Node's default (large) heap limit V8 lets
// garbage pile up in old space until that limit nears: accepting a 1,000,000-message backlog (the embedded
// broker's per-publish garbage) and draining it reached 160-190 MB RSS although only ~25 MB is live. While the
// queue holds a backlog the bridge looks at the old generation twice a second and runs a full collection once
// it grew by GROWTH_BYTES since the last one (a few ms for the gateway's small live heap).
import { getHeapSpaceStatistics } from 'node:v8';
import { collectGarbage } from '../runtime/collector.js';

const GROWTH_BYTES = 16 * 1024 * 1024;
const CHECK_MS = 500;

function oldSpaceUsed(): number {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'old_space') return s.space_used_size;
  return 0;
}

export class HeapGuard {
  #base = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Full collections run so far. */
  collections = 0;

  /** `active` says whether there is a backlog worth guarding (checked each time). */
  constructor(
    private readonly active: () => boolean,
    private readonly growthBytes = GROWTH_BYTES,
  ) {}

  start(): void {
    if (this.#timer) return;
    this.#base = oldSpaceUsed();
    this.#timer = setInterval(() => this.check(), CHECK_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  check(): void {
    const used = oldSpaceUsed();
    if (!this.active()) {
      this.#base = Math.min(this.#base, used);
      return;
    }
    if (used < this.#base + this.growthBytes) return;
    if (!collectGarbage()) return;
    this.collections++;
    this.#base = oldSpaceUsed();
  }
}
