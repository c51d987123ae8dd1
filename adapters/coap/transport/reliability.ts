// Confirmable message retransmission (RFC 7252 §4.2): resend with exponential back-off until an ACK or RST with
// the same message id arrives from that peer, MAX_RETRANSMIT is exhausted, or the sender no longer needs an answer.
import type { CoapPeer } from '../endpoint.js';
import { peerKey } from './peer.js';
import type { TransmissionParameters } from './timing.js';

export type ConfirmableOutcome = 'ack' | 'rst' | 'timeout' | 'cancelled';

interface Outstanding {
  timer: NodeJS.Timeout;
  resolve(outcome: ConfirmableOutcome): void;
}

export class ConfirmableSender {
  private readonly outstanding = new Map<string, Outstanding>();

  constructor(
    private readonly params: TransmissionParameters,
    private readonly transmit: (bytes: Buffer, peer: CoapPeer) => void,
  ) {}

  get size(): number {
    return this.outstanding.size;
  }

  send(bytes: Buffer, peer: CoapPeer, messageId: number): Promise<ConfirmableOutcome> {
    const key = `${peerKey(peer)}#${messageId}`;
    return new Promise((resolve) => {
      let attempt = 0;
      let timeout = this.params.ackTimeoutMs * (1 + Math.random() * (this.params.ackRandomFactor - 1));
      const fire = (): void => {
        if (attempt > this.params.maxRetransmit) {
          this.outstanding.delete(key);
          resolve('timeout');
          return;
        }
        this.transmit(bytes, peer);
        attempt++;
        const entry = this.outstanding.get(key);
        const timer = setTimeout(fire, timeout);
        timeout *= 2;
        if (entry) entry.timer = timer;
        else this.outstanding.set(key, { timer, resolve });
      };
      fire();
    });
  }

  /** An ACK or RST arrived; true when it matched an outstanding CON. */
  settle(peer: CoapPeer, messageId: number, outcome: 'ack' | 'rst'): boolean {
    return this.end(`${peerKey(peer)}#${messageId}`, outcome);
  }

  /**
   * Stop retransmitting: the request was answered otherwise (a separate response before the ACK) or given up on.
   * RFC 7252 §4.2 allows this; a request that keeps going out after its failure was reported would still be
   * carried out by the device.
   */
  cancel(peer: CoapPeer, messageId: number): void {
    this.end(`${peerKey(peer)}#${messageId}`, 'cancelled');
  }

  private end(key: string, outcome: ConfirmableOutcome): boolean {
    const entry = this.outstanding.get(key);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.outstanding.delete(key);
    entry.resolve(outcome);
    return true;
  }

  /** Resolve everything as timed out (endpoint closing). */
  cancelAll(): void {
    for (const entry of this.outstanding.values()) {
      clearTimeout(entry.timer);
      entry.resolve('timeout');
    }
    this.outstanding.clear();
  }
}
