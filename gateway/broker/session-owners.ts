// Which user owns each persistent session (clean session 0), so that a client id reused by another user starts
// from an empty session instead of inheriting the previous owner's subscriptions and queued messages.
// Journaled with the broker's persistence, so a restart keeps the owners; a journal written before owners were
// recorded has none, and then the first user to resume a session claims it (deliveries are still checked against
// that user's ACL, see authorizeForward in broker.ts).
import { OldestKey } from '../oldest-key.js';

const MAX_OWNERS = 100_000;

/** `u` is the username, null for an anonymous client. */
export type OwnerRecord = { o: 'w'; c: string; u: string | null } | { o: 'W'; c: string };

export class SessionOwners {
  readonly #owners = new Map<string, string | null>();
  readonly #oldest = new OldestKey(this.#owners);

  /** `journal` receives every change (not replayed ones) and resolves once it is written. */
  constructor(private readonly journal: (record: OwnerRecord) => Promise<void> = () => Promise.resolve()) {}

  /** True when a stored session of `clientId` belongs to someone other than `username`. */
  ownedByOther(clientId: string, username: string | undefined): boolean {
    return this.#owners.has(clientId) && this.#owners.get(clientId) !== (username ?? null);
  }

  /** Records who connected with `clientId`; a clean-session connection leaves no session behind to own. */
  claim(clientId: string, username: string | undefined, persistent: boolean): Promise<void> {
    const owner = username ?? null;
    if (!persistent) return this.#owners.delete(clientId) ? this.journal({ o: 'W', c: clientId }) : Promise.resolve();
    if (this.#owners.get(clientId) === owner) return Promise.resolve(); // a reconnect: nothing to journal
    this.#set(clientId, owner);
    return this.journal({ o: 'w', c: clientId, u: owner });
  }

  /** A record read back from the journal. */
  apply(record: OwnerRecord): void {
    if (record.o === 'w') this.#set(record.c, record.u);
    else this.#owners.delete(record.c);
  }

  /** The owners as records, for a journal snapshot. */
  *records(): Iterable<OwnerRecord> {
    for (const [c, u] of this.#owners) yield { o: 'w', c, u };
  }

  #set(clientId: string, owner: string | null): void {
    this.#owners.delete(clientId);
    if (this.#owners.size >= MAX_OWNERS) {
      const oldest = this.#oldest.take();
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
    this.#owners.set(clientId, owner);
  }
}
