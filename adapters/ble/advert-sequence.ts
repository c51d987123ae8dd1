// Which adverts of a configured device are new. Kept per device id and never evicted (one entry per configured
// device), apart from the bounded cache of unknown advertisers: a flood of passers-by must not make the adapter
// forget the last encryption counter and accept a recorded advert again.

/** Identical advert content within this long after it was taken is the radio reporting the same advert again. */
export const REPEAT_WINDOW_MS = 1000;

/** What identifies one advert: BTHome's encryption counter or packet id, else the content bytes. */
export interface AdvertSequence {
  counter?: number | undefined;
  packetId?: number | undefined;
  content: string;
}

export type AdvertVerdict = { kind: 'new' } | { kind: 'repeat' } | { kind: 'replay'; counter: number; last: number };

interface Seen {
  lastCounter?: number;
  lastPacket?: number;
  lastContent?: string;
  lastContentAt?: number;
}

export class AdvertSequences {
  readonly #devices = new Map<string, Seen>();

  judge(deviceId: string, advert: AdvertSequence, now: number): AdvertVerdict {
    let seen = this.#devices.get(deviceId);
    if (!seen) {
      seen = {};
      this.#devices.set(deviceId, seen);
    }
    const { counter } = advert;
    // A counter below one already accepted is a replay (a recorded advert sent again), unless the counter
    // restarted low, as after a battery change (bthome-ble's rule).
    if (counter !== undefined && seen.lastCounter !== undefined && counter < seen.lastCounter && counter >= 100)
      return { kind: 'replay', counter, last: seen.lastCounter };
    if (counter !== undefined) seen.lastCounter = counter;
    const packet = counter ?? advert.packetId;
    if (packet !== undefined) {
      if (seen.lastPacket === packet) return { kind: 'repeat' };
      seen.lastPacket = packet;
      return { kind: 'new' };
    }
    return judgeContent(seen, advert.content, now);
  }

  /** Forgets the devices no longer configured. */
  retain(deviceIds: Iterable<string>): void {
    const keep = new Set(deviceIds);
    for (const id of this.#devices.keys()) if (!keep.has(id)) this.#devices.delete(id);
  }

  clear(): void {
    this.#devices.clear();
  }
}

/** Without a packet id (Zephyr's bthome template sends none) the same bytes soon after are the same advert. */
function judgeContent(seen: Seen, content: string, now: number): AdvertVerdict {
  if (seen.lastContent === content && now - (seen.lastContentAt ?? 0) < REPEAT_WINDOW_MS) return { kind: 'repeat' };
  seen.lastContent = content;
  seen.lastContentAt = now;
  return { kind: 'new' };
}
