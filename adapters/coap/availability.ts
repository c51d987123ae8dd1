// A gateway-initiated device's availability from what became of its requests: any answer (an empty ACK or a RST
// included) shows it online; only a CON that got neither ACK nor RST after MAX_RETRANSMIT (RFC 7252 §4.2) takes it
// offline. A request whose deadline passed is no such verdict: the device may be slow, or one resource silent.
// Once its client stopped (a reload replaced it), nothing that still completes speaks for the device. A failure is
// judged against the answers counted when its request went out: an answer to anything sent since is newer evidence.
import type { AdapterContext } from '../../gateway/adapter.js';
import type { CoapPeer, CoapReachability } from './endpoint.js';
import { CoapDeadlineError, CoapResetError, CoapUnreachableError, CoapZoneError } from './transport/errors.js';

export class DeviceAvailability {
  private probing = false;
  /** Answers so far: a request or probe that failed while one arrived is outdated, not a verdict. */
  private answers = 0;

  constructor(
    private readonly deviceId: string,
    private readonly peer: CoapPeer,
    private readonly reachability: CoapReachability,
    private readonly ctx: AdapterContext,
    /** Aborted when the client stops: it cancels a probe in flight. */
    private readonly stopSignal: AbortSignal,
  ) {}

  answered(): void {
    if (this.stopSignal.aborted) return;
    this.answers++;
    this.ctx.availability(this.deviceId, true);
  }

  /** Called as a request goes out; what it returns goes back to failed() if the request gets no response. */
  sending(): number {
    return this.answers;
  }

  /** A request that got no response; `answersWhenSent` is what sending() returned for it. */
  failed(error: unknown, answersWhenSent: number): void {
    if (this.stopSignal.aborted) return;
    if (error instanceof CoapResetError || (error instanceof CoapDeadlineError && error.acknowledged)) {
      this.answered();
      return;
    }
    // The device answered something since this request went out: it is there, whatever became of this one.
    if (this.answers !== answersWhenSent) return;
    if (error instanceof CoapUnreachableError || error instanceof CoapZoneError)
      this.ctx.availability(this.deviceId, false);
    else if (error instanceof CoapDeadlineError) void this.probe();
  }

  /**
   * The deadline passed (request_timeout is shorter than MAX_TRANSMIT_WAIT by default) and the request was
   * cancelled unacknowledged: a CoAP ping, with its own full retransmission, tells a device that is gone from one
   * whose resource stays silent. The ping takes up to MAX_TRANSMIT_WAIT; an answer to anything else meanwhile is
   * newer evidence than its timeout.
   */
  private async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    const answersBefore = this.answers;
    try {
      const alive = await this.reachability.ping(this.peer, this.stopSignal);
      if (this.stopSignal.aborted || (!alive && this.answers !== answersBefore)) return;
      this.ctx.availability(this.deviceId, alive);
    } finally {
      this.probing = false;
    }
  }
}
