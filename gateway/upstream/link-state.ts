// The link state ("online" on the state topic, whose last will says "offline"): publishing it on each
// connection, and giving it up when the upstream refuses it (MQTT 5 reason code) or keeps closing the connection right
// after it (a broker policy refusing the state topic or retain must not keep the queue from being sent), with retries
// after a back-off.
import type { MqttClient } from 'mqtt';
import { ONLINE } from './client-options.js';
import type { ConnectionRecord } from './connection-record.js';
import type { LinkLimits } from './link-limits.js';

/** Connections closed right after the online state publish (nothing else answered) before the bridge stops
 * publishing the state: a broker policy refusing the state topic must not keep the queue from being sent. */
const STATE_STRIKES = 2;
/** A close this soon after the state publish, with it unanswered, is blamed on the state publish. */
const STATE_WINDOW_MS = 10_000;
/** Once given up, the state is published again on a connection that has stayed up this long, then twice as
 * long each time it is refused again, up to STATE_RETRY_MAX_MS: a link that dropped twice right after the state
 * publish may have been flaky, and a retained "offline" from an earlier last will must not stay for good. */
const STATE_RETRY_MS = 10_000;
const STATE_RETRY_MAX_MS = 60 * 60_000;

export interface LinkStateHost {
  /** bridge.link_state. */
  enabled(): boolean;
  stateTopic(): string;
  clientId(): string;
  /** The upstream's URL, redacted. */
  url(): string;
  limits(): LinkLimits;
  /** Messages acknowledged so far. */
  acked(): number;
  /** The connection of `gen` is still the current one. */
  isCurrent(gen: number): boolean;
  /** ... and connected. */
  isConnected(gen: number): boolean;
  setError(error: string): void;
  /** Test hook for STATE_RETRY_MS. */
  retryMs: number | undefined;
}

export class LinkStatePublisher {
  /** Connections in a row the upstream closed right after the online state publish; at STATE_STRIKES the state
   * is given up: published again only after a back-off on a stable connection (STATE_RETRY_MS) or a reload. */
  #strikes = 0;
  /** Times the given-up state was published again and refused: doubles the wait before the next try. */
  #retries = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  /** A problem that outlives reconnects (the state publish given up): shown as last_error while nothing else is. */
  #problem: string | undefined;

  constructor(private readonly host: LinkStateHost) {}

  get problem(): string | undefined {
    return this.#problem;
  }

  publishes(): boolean {
    return this.host.enabled() && this.#strikes < STATE_STRIKES;
  }

  options(): { qos: 0 | 1; retain: boolean } {
    const limits = this.host.limits();
    return { qos: Math.min(1, limits.maxQos) as 0 | 1, retain: limits.retain };
  }

  publish(client: MqttClient, gen: number, conn: ConnectionRecord): void {
    if (!this.publishes()) return;
    conn.statePending = true;
    conn.stateSentAt = performance.now();
    conn.ackedAtState = this.host.acked();
    client.publish(this.host.stateTopic(), ONLINE, this.options(), (err) => {
      if (!this.host.isCurrent(gen)) return;
      const code = (err as { code?: unknown } | undefined)?.code;
      if (err && typeof code !== 'number') return; // the connection ended: not an answer
      conn.statePending = false;
      if (!err) {
        this.#strikes = 0;
        this.#retries = 0;
        this.#problem = undefined;
        return;
      }
      // Refused with a reason code (MQTT 5, e.g. 0x87 Not authorized by an ACL): it would be refused on every
      // connection, and some brokers close the connection after a refusal (Mosquitto with max_queued_messages 0),
      // which kept the queue from being sent. Given up like a state the upstream closes the connection on.
      this.#strikes = STATE_STRIKES;
      this.#problem = `upstream refused the link state on ${this.host.stateTopic()}: ${err.message} (check bridge.state_topic and the broker's policy, or set bridge.link_state: false); the link state is not published for now (tried again on a connection that stays up, and on a reload)`;
      this.host.setError(this.#problem);
    });
  }

  /** The state was given up: once this connection has stayed up for the back-off, it is published again (one
   * more strike gives it up again, with a longer back-off). */
  retryLater(client: MqttClient, gen: number, conn: ConnectionRecord): void {
    clearTimeout(this.#retryTimer);
    if (!this.host.enabled() || this.publishes()) return;
    const first = this.host.retryMs ?? STATE_RETRY_MS;
    const wait = Math.min(first * 2 ** this.#retries, STATE_RETRY_MAX_MS);
    this.#retryTimer = setTimeout(() => {
      if (!this.host.isConnected(gen)) return;
      this.#retries++;
      this.#strikes = STATE_STRIKES - 1;
      this.publish(client, gen, conn);
    }, wait);
    this.#retryTimer.unref();
  }

  /** The upstream closed the connection right after the online state publish, with nothing else answered: a
   * policy refusing the state topic (or retain) on MQTT 3.1.1. Reported; after STATE_STRIKES the state is given
   * up (retried after a back-off, see STATE_RETRY_MS), so the queue gets sent. */
  closedOnState(conn: ConnectionRecord): boolean {
    const quick = performance.now() - conn.stateSentAt < STATE_WINDOW_MS;
    if (!conn.statePending || !quick || this.host.acked() > conn.ackedAtState) return false;
    this.#strikes++;
    const given = this.#strikes >= STATE_STRIKES;
    const why = conn.disconnect ? ` (${conn.disconnect})` : '';
    const { host } = this;
    const problem = `upstream ${host.url()} closed the connection right after the link state publish on ${host.stateTopic()}${why}: check that the broker's policy lets ${host.clientId()} publish${host.limits().retain ? ' retained messages' : ''} there (bridge.state_topic, bridge.retain)${given ? '; the link state is not published for now (tried again on a connection that stays up, and on a reload; bridge.link_state: false turns it off)' : ''}`;
    if (given) this.#problem = problem;
    host.setError(problem);
    return true;
  }

  /** A reload tries again what was given up (the broker's policy may have been fixed). Returns whether the state
   * had been given up: a new connection publishes it, and sets the last will again too. */
  reload(): boolean {
    const givenUp = this.#strikes >= STATE_STRIKES;
    this.#strikes = 0;
    this.#retries = 0;
    this.#problem = undefined;
    return givenUp;
  }

  stop(): void {
    clearTimeout(this.#retryTimer);
  }
}
