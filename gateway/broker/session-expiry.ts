// Persistent sessions whose client stays away longer than broker.session_expiry are forgotten, as Mosquitto's
// persistent_client_expiration does. Without it every client id that ever connected with clean session 0 kept its
// subscriptions and up to max_queued messages for ever, in memory and in the journal.
//
// The time away is counted from the client's last disconnect in this run, or from the broker's start for a session an
// earlier run left: kept in memory only, so a restart never expires a session early, only later.

export class SessionExpiry {
  /** Client id to when (monotonic ms) its client went away, for sessions whose client is not connected. */
  readonly #awaySince = new Map<string, number>();

  constructor(
    private readonly expiryMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Sessions found at start: away since now. */
  found(clientIds: Iterable<string>): void {
    const now = this.now();
    for (const id of clientIds) if (!this.#awaySince.has(id)) this.#awaySince.set(id, now);
  }

  connected(clientId: string): void {
    this.#awaySince.delete(clientId);
  }

  /** A client with a persistent session went away. */
  disconnected(clientId: string): void {
    this.#awaySince.delete(clientId); // re-inserted last: the map stays in order of time away
    this.#awaySince.set(clientId, this.now());
  }

  /** A client of a session still away is connecting: its time away starts again, should the connection fail. */
  returning(clientId: string): void {
    if (this.#awaySince.has(clientId)) this.disconnected(clientId);
  }

  /** Takes the sessions away longer than the expiry, with how long each was away (ms). */
  takeExpired(): Array<{ clientId: string; awayMs: number }> {
    const now = this.now();
    const out: Array<{ clientId: string; awayMs: number }> = [];
    for (const [clientId, since] of this.#awaySince) {
      if (now - since < this.expiryMs) break;
      out.push({ clientId, awayMs: now - since });
    }
    for (const { clientId } of out) this.#awaySince.delete(clientId);
    return out;
  }
}

interface ExpiringClient {
  id: string;
  clean: boolean;
}

export interface SessionExpiryDeps {
  expirySeconds: number;
  /** Every session stored at start. */
  stored: Iterable<string>;
  /** Whether a client with this id is connected now. */
  isConnected(clientId: string): boolean;
  /** Forgets the session: its subscriptions, queue, QoS 2 state and owner. */
  forget(clientId: string): Promise<void>;
  onExpired(clientId: string, awaySeconds: number): void;
  now?: () => number;
}

/** How often sessions are checked: a tenth of the expiry, between 1 s and an hour. */
export function sweepIntervalMs(expirySeconds: number): number {
  return Math.min(3_600_000, Math.max(1000, expirySeconds * 100));
}

/**
 * Runs the expiry: call `connected`/`disconnected` from aedes' 'client' and 'clientDisconnect' events, and await
 * `settled(id)` before a connection with that id looks its session up, so it never sees one half forgotten.
 */
export function startSessionExpiry(deps: SessionExpiryDeps) {
  const expiry = new SessionExpiry(deps.expirySeconds * 1000, deps.now);
  expiry.found(deps.stored);
  /** Sessions being forgotten now. */
  const forgetting = new Map<string, Promise<void>>();
  const sweep = (): void => {
    for (const { clientId, awayMs } of expiry.takeExpired()) {
      if (deps.isConnected(clientId) || forgetting.has(clientId)) continue;
      const done = deps
        .forget(clientId)
        .then(() => deps.onExpired(clientId, Math.round(awayMs / 1000)))
        .finally(() => forgetting.delete(clientId));
      forgetting.set(clientId, done);
    }
  };
  const timer = setInterval(sweep, sweepIntervalMs(deps.expirySeconds));
  timer.unref();
  return {
    connected: (client: ExpiringClient) => expiry.connected(client.id),
    disconnected: (client: ExpiringClient) => {
      if (!client.clean) expiry.disconnected(client.id);
    },
    settled: (clientId: string): Promise<void> => {
      expiry.returning(clientId);
      return forgetting.get(clientId)?.catch(() => {}) ?? Promise.resolve();
    },
    sweep,
    stop: () => clearInterval(timer),
  };
}
