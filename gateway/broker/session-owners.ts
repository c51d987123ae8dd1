// Which user owns each persistent session (clean session 0), so that a client id reused by another user starts
// from an empty session instead of inheriting the previous owner's subscriptions and queued messages.
// Stored beside the journal (session-owners-file.ts), so a restart keeps the owners; a session with no recorded
// owner (lost in a crash, or from before owners were kept) is claimed by the first user to resume it (deliveries
// are still checked against that user's ACL, see authorizeForward in broker.ts).
import { OldestKey } from '../oldest-key.js';

const MAX_OWNERS = 100_000;

/** Journal records of owners, as one development version wrote them: read (never written) for compatibility. */
export type OwnerRecord = { o: 'w'; c: string; u: string | null } | { o: 'W'; c: string };

export class SessionOwners {
  /** Client id to username; null for an anonymous client. */
  readonly #owners = new Map<string, string | null>();
  readonly #oldest = new OldestKey(this.#owners);

  /** `changed` is told after every change, to store the owners (`entries()`). */
  constructor(private readonly changed: () => void = () => {}) {}

  /** True when a stored session of `clientId` belongs to someone other than `username`. */
  ownedByOther(clientId: string, username: string | undefined): boolean {
    return this.#owners.has(clientId) && this.#owners.get(clientId) !== (username ?? null);
  }

  /** True when a persistent session of `clientId` was recorded (and not ended by a clean-session connection). */
  has(clientId: string): boolean {
    return this.#owners.has(clientId);
  }

  /** Records who connected with `clientId`; a clean-session connection leaves no session behind to own. */
  claim(clientId: string, username: string | undefined, persistent: boolean): void {
    const owner = username ?? null;
    if (!persistent) {
      if (this.#owners.delete(clientId)) this.changed();
      return;
    }
    if (this.#owners.get(clientId) === owner) return; // a reconnect: nothing changed
    this.#set(clientId, owner);
    this.changed();
  }

  /** Owners read back at start (the owners file, then records of an older journal). */
  restore(entries: Iterable<[string, string | null]>): void {
    for (const [clientId, owner] of entries) this.#set(clientId, owner);
  }

  apply(record: OwnerRecord): void {
    if (record.o === 'w') this.#set(record.c, record.u);
    else this.#owners.delete(record.c);
  }

  entries(): Iterable<[string, string | null]> {
    return this.#owners.entries();
  }

  #set(clientId: string, owner: string | null): void {
    this.#owners.delete(clientId);
    if (this.#owners.size < MAX_OWNERS) this.#oldest.release();
    else {
      const oldest = this.#oldest.take();
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
    this.#owners.set(clientId, owner);
  }
}
