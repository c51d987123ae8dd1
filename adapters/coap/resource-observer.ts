// Keeps one device resource observed (RFC 7641): registers, re-registers once the relation goes stale or the device
// ends it, and backs off (honouring Max-Age) while the device refuses. A resource that answers without Observe is
// not observable: it is re-read every observe_freshness instead.
import type { CoapClientResponse, CoapEndpoint, CoapObservation, CoapPeer } from './endpoint.js';
import { type RetryPolicy, retryDelay } from './retry.js';
import { splitTarget } from './target.js';
import type { Timers } from './timers.js';

export interface ResourceObserverOptions extends RetryPolicy {
  requestTimeoutMs: number;
  /** Re-register after this long without a notification (devices restart, relations get lost). */
  observeFreshnessMs: number;
}

export interface ResourceObserverHooks {
  /**
   * The device answered a registration or sent a notification: with NSTART = 1 a notification is the only thing
   * that can show it is there while another request to it (an availability probe) is outstanding.
   */
  onAnswer(): void;
  /** The registration's answer and every notification, in order, error codes included. */
  onResponse(res: CoapClientResponse): void;
  /** A registration is going out; what it returns is handed to onFailure if it gets no answer. */
  onRegistering(): number;
  /** A registration that got no answer (timeout, RST); `registering` is what onRegistering() returned for it. */
  onFailure(error: unknown, registering: number): void;
}

/** Slack after a notification's Max-Age before re-registering: the next one may be on its way. */
const MAX_AGE_GRACE_S = 2;

export class ResourceObserver {
  private observation: CoapObservation | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Registrations since the device last showed a working relation: the back-off exponent. */
  private attempt = 0;
  /** When (performance.now()) the device last accepted a registration, until the back-off looks at it. */
  private acceptedAt: number | undefined;

  constructor(
    private readonly endpoint: CoapEndpoint,
    private readonly peer: CoapPeer,
    private readonly path: string,
    private readonly timers: Timers,
    private readonly options: ResourceObserverOptions,
    private readonly hooks: ResourceObserverHooks,
  ) {}

  start(): void {
    this.register();
  }

  /**
   * The deregistration goes out without being waited for: a device that does not answer it would hold its caller
   * up to the exchange's 5 s, more than the gateway gives the adapter to stop (3 s). One that never gets it ends the
   * relation at its next notification, which the gateway answers with RST, or not at all once its socket is closed.
   */
  stop(): void {
    this.drop();
  }

  private register(): void {
    if (this.timers.stopped) return;
    const request = { peer: this.peer, method: 'GET' as const, ...splitTarget(this.path) };
    const registering = this.hooks.onRegistering();
    this.endpoint
      .observe({ ...request, timeoutMs: this.options.requestTimeoutMs, signal: this.timers.signal }, (res) =>
        this.onNotification(res),
      )
      .then(
        (observation) => this.onRegistered(observation),
        (error: unknown) => this.onRegistrationFailed(error, registering),
      );
  }

  private onRegistered(observation: CoapObservation): void {
    if (this.timers.stopped) {
      void observation.cancel();
      return;
    }
    this.observation = observation;
    const first = observation.first;
    if (first.code.startsWith('2.')) this.acceptedAt = performance.now();
    this.hooks.onAnswer();
    this.hooks.onResponse(first);
    if (!first.code.startsWith('2.')) this.retry(first.maxAge);
    else if (first.observe === undefined) this.schedule(() => this.register(), this.options.observeFreshnessMs);
    else this.expectNext(first.maxAge);
  }

  private onNotification(res: CoapClientResponse): void {
    this.hooks.onAnswer();
    this.hooks.onResponse(res);
    // RFC 7641 §3.2: without Observe, or with an error code, the device has ended the relation.
    if (res.observe === undefined || !res.code.startsWith('2.')) {
      this.retry(res.maxAge);
      return;
    }
    this.attempt = 0;
    this.expectNext(res.maxAge);
  }

  private onRegistrationFailed(error: unknown, registering: number): void {
    this.hooks.onFailure(error, registering);
    this.retry();
  }

  /**
   * Register again after the back-off, and not before the answer's Max-Age. A relation that held for retryMinMs shows
   * the device works again, so the back-off starts over (it would otherwise keep growing over every outage of a
   * resource that never notifies); one the device ends at once keeps backing off, so that is no loop.
   */
  private retry(maxAgeS?: number): void {
    if (this.acceptedAt !== undefined && performance.now() - this.acceptedAt >= this.options.retryMinMs)
      this.attempt = 0;
    this.acceptedAt = undefined;
    this.drop();
    this.schedule(() => this.register(), retryDelay(this.options, this.attempt++, maxAgeS));
  }

  /**
   * RFC 7641 §3.3.1: a notification is fresh for its Max-Age; a device that sets one and then falls silent past it
   * has likely rebooted and forgotten us, so re-register then rather than after observe_freshness.
   */
  private expectNext(maxAgeS: number | undefined): void {
    const fresh = maxAgeS === undefined ? Number.POSITIVE_INFINITY : (maxAgeS + MAX_AGE_GRACE_S) * 1000;
    this.schedule(
      () => {
        this.drop();
        this.register();
      },
      Math.min(this.options.observeFreshnessMs, fresh),
    );
  }

  /** Forget the current relation, deregistering it if the device still holds it. */
  private drop(): void {
    const current = this.observation;
    this.observation = undefined;
    void current?.cancel().catch(() => undefined);
  }

  private schedule(fn: () => void, ms: number): void {
    this.timers.cancel(this.timer);
    this.timer = this.timers.later(fn, ms);
  }
}
