// Why a gateway-initiated request got no usable answer. The device client tells them apart for availability: only
// an unacknowledged CON says the device is unreachable.
import type { CoapPeer } from '../endpoint.js';
import { formatPeer } from './peer.js';

/** No answer in time: the common base of the two cases below. */
export class CoapTimeoutError extends Error {
  constructor(peer: CoapPeer, detail: string) {
    super(`CoAP request to ${formatPeer(peer)} timed out: ${detail}`);
    this.name = 'CoapTimeoutError';
  }
}

/** Neither ACK nor RST after MAX_RETRANSMIT retransmissions (RFC 7252 §4.2): the peer is unreachable. */
export class CoapUnreachableError extends CoapTimeoutError {
  constructor(peer: CoapPeer) {
    super(peer, 'no ACK after MAX_RETRANSMIT');
    this.name = 'CoapUnreachableError';
  }
}

/** The request's deadline passed first. `acknowledged`: the peer had ACKed it, its separate response was late. */
export class CoapDeadlineError extends CoapTimeoutError {
  constructor(
    peer: CoapPeer,
    readonly acknowledged: boolean,
  ) {
    super(peer, acknowledged ? 'acknowledged, but no response before the deadline' : 'no answer before the deadline');
    this.name = 'CoapDeadlineError';
  }
}

/** Not sent: the zone of the peer's address names no interface of this host (transport/interface-zones.ts). */
export class CoapZoneError extends Error {
  constructor(peer: CoapPeer, problem: string) {
    super(`CoAP request to ${formatPeer(peer)} not sent: ${problem}`);
    this.name = 'CoapZoneError';
  }
}

export class CoapResetError extends Error {
  constructor(peer: CoapPeer) {
    super(`CoAP request to ${formatPeer(peer)} was rejected with RST`);
    this.name = 'CoapResetError';
  }
}

/** The caller gave up on the request (its AbortSignal fired): it is no longer sent, and says nothing of the peer. */
export class CoapCancelledError extends Error {
  constructor(peer: CoapPeer) {
    super(`CoAP request to ${formatPeer(peer)} was cancelled`);
    this.name = 'CoapCancelledError';
  }
}

/** NSTART = 1 keeps one interaction per peer outstanding; this many more already wait for that peer. */
export class CoapQueueFullError extends Error {
  constructor(peer: CoapPeer, limit: number) {
    super(`CoAP request to ${formatPeer(peer)} refused: ${limit} requests already wait for this peer`);
    this.name = 'CoapQueueFullError';
  }
}
