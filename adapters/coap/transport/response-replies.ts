// What the client side answers to a CON or NON response (RFC 7252 §4.2, §4.3, §4.5): ACK one it awaits, ACK a late
// one to a request it gave up on (its sender is alive; the content is ignored), RST anything else, and give every
// duplicate of a CON the same ACK or RST as the first copy.
import type { CoapPeer } from '../endpoint.js';
import { BoundedExpiringMap } from './bounded-map.js';
import { type CoapMessage, encodeMessage } from './message.js';
import { peerKey } from './peer.js';

type Reply = 'ACK' | 'RST' | 'none';

/** How long a given-up token is remembered: EXCHANGE_LIFETIME with the default transmission parameters. */
const RETIRED_TOKEN_MS = 247_000;

export class ResponseReplies {
  private readonly seen = new BoundedExpiringMap<string, Reply>(4096, 60_000);
  private readonly retired = new BoundedExpiringMap<string, true>(4096, RETIRED_TOKEN_MS);

  constructor(private readonly transmit: (bytes: Buffer, peer: CoapPeer) => void) {}

  /** A request given up on (deadline passed, multicast window closed): answers with its token are late, not unknown. */
  retire(tokenHex: string): void {
    this.retired.set(tokenHex, true);
  }

  /** Answer a CON/NON response; true when it is the first copy of an awaited one, to be delivered. */
  answer(message: CoapMessage, peer: CoapPeer, awaited: boolean): boolean {
    const key = `${peerKey(peer)}#${message.messageId}`;
    const previous = this.seen.get(key);
    if (previous !== undefined) {
      // A duplicate NON is ignored silently (§4.5).
      if (message.type === 'CON') this.send(previous, message, peer);
      return false;
    }
    const reply = this.replyTo(message, awaited);
    this.seen.set(key, reply);
    this.send(reply, message, peer);
    return awaited;
  }

  private replyTo(message: CoapMessage, awaited: boolean): Reply {
    const known = awaited || this.retired.get(message.token.toString('hex')) !== undefined;
    if (message.type === 'CON') return known ? 'ACK' : 'RST';
    return known ? 'none' : 'RST';
  }

  private send(reply: Reply, message: CoapMessage, peer: CoapPeer): void {
    if (reply === 'none') return;
    this.transmit(encodeMessage({ type: reply, code: '0.00', messageId: message.messageId }), peer);
  }

  clear(): void {
    this.seen.clear();
    this.retired.clear();
  }
}
