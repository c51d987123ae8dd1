// Which user owns each persistent session (clean session 0), so that a client id reused by another user starts
// from an empty session instead of inheriting the previous owner's subscriptions and queued messages.
// Kept in memory only: after a restart the first user to resume a session claims it (deliveries are still checked
// against that user's ACL, see authorizeForward in broker.ts).
import { OldestKey } from '../oldest-key.js';

const MAX_OWNERS = 100_000;

export class SessionOwners {
  /** Client id to username; undefined for anonymous clients. */
  readonly #owners = new Map<string, string | undefined>();
  readonly #oldest = new OldestKey(this.#owners);

  /** True when a stored session of `clientId` belongs to someone other than `username`. */
  ownedByOther(clientId: string, username: string | undefined): boolean {
    return this.#owners.has(clientId) && this.#owners.get(clientId) !== username;
  }

  /** Records who connected with `clientId`; a clean-session connection leaves no session behind to own. */
  claim(clientId: string, username: string | undefined, persistent: boolean): void {
    this.#owners.delete(clientId);
    if (!persistent) return;
    if (this.#owners.size >= MAX_OWNERS) {
      const oldest = this.#oldest.take();
      if (oldest !== undefined) this.#owners.delete(oldest);
    }
    this.#owners.set(clientId, username);
  }
}
