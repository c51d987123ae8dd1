// The server half of the endpoint: deduplication, routing by first Uri-Path segment, Block1 reassembly (keyed by
// peer + method + path + query, never by token: libcoap's client uses a new token per block, RFC 7959 §2.3 allows
// it), Block2 slicing of large responses, separate responses for slow handlers, and observe notifications.
import type {
  CoapIncomingRequest,
  CoapMethod,
  CoapOutgoingResponse,
  CoapPeer,
  CoapRequestHandler,
  CoapRouteOptions,
} from '../endpoint.js';
import { DedupCache, PENDING } from './dedup-cache.js';
import { type CoapMessage, type CoapRejectKind, encodeMessage, type OutgoingMessage } from './message.js';
import { blockSize, szxForSize } from './options.js';
import { peerKey } from './peer.js';
import { type PeerOwned, PerPeerBoundedMap } from './per-peer-map.js';
import type { ConfirmableOutcome, ConfirmableSender } from './reliability.js';

const METHOD_NAMES: Record<string, CoapMethod> = {
  '0.01': 'GET',
  '0.02': 'POST',
  '0.03': 'PUT',
  '0.04': 'DELETE',
  '0.05': 'FETCH',
  '0.06': 'PATCH',
  '0.07': 'iPATCH',
};

export interface ServerLimits {
  /** Largest request payload accepted, whole or reassembled (4.13 beyond). */
  maxPayloadBytes: number;
  /** Preferred block size for responses we slice (Block2). */
  blockSize: number;
  dedupEntries: number;
  dedupTtlMs: number;
  /** Block1 uploads in progress, and Block2 bodies being read, each kept at most this many for all peers... */
  reassemblyEntries: number;
  /** ...and this many per peer: a peer's next one pushes out its own oldest, never another peer's. */
  reassemblyEntriesPerPeer: number;
  reassemblyTtlMs: number;
  /** A CON request whose handler is slower than this gets an empty ACK and a separate CON response. */
  separateResponseAfterMs: number;
}

/** How a notification ended: acknowledged (CON) or sent (NON), rejected with RST, or unacknowledged (or cut short). */
export type NotifyOutcome = ConfirmableOutcome | 'sent';

export interface ServerHooks {
  transmit(bytes: Buffer, peer: CoapPeer): void;
  /** Sends at once and tells whether the datagram left (false: no socket, or the socket refused it). */
  transmitReported(bytes: Buffer, peer: CoapPeer): Promise<boolean>;
  nextMessageId(): number;
  reliable: ConfirmableSender;
  onHandlerError(error: unknown, req: CoapIncomingRequest): void;
  /** A request refused by the transport itself (4.02, 4.05, 4.08, 4.13, 5.05), for the decode-error count. */
  onReject(kind: CoapRejectKind, detail: string, peer: CoapPeer, bytes: Buffer): void;
}

interface Reassembly extends PeerOwned {
  chunks: Buffer[];
  received: number;
}

type CachedBody = CoapOutgoingResponse & PeerOwned & { body: Buffer };

type Route = CoapRouteOptions & { handler: CoapRequestHandler };

export class ServerSide {
  private readonly routes = new Map<string, Route>();
  private readonly dedup: DedupCache;
  private readonly reassembly: PerPeerBoundedMap<Reassembly>;
  private readonly block2Cache: PerPeerBoundedMap<CachedBody>;

  constructor(
    private readonly limits: ServerLimits,
    private readonly hooks: ServerHooks,
  ) {
    this.dedup = new DedupCache(limits.dedupEntries, limits.dedupTtlMs);
    const { reassemblyEntries: total, reassemblyEntriesPerPeer: perPeer, reassemblyTtlMs: ttl } = limits;
    this.reassembly = new PerPeerBoundedMap(total, perPeer, ttl);
    this.block2Cache = new PerPeerBoundedMap(total, perPeer, ttl);
  }

  route(firstSegment: string, handler: CoapRequestHandler, options?: CoapRouteOptions): void {
    this.routes.set(firstSegment, { ...options, handler });
  }

  stats(): Record<string, number> {
    return { dedup: this.dedup.size, reassembly: this.reassembly.size, block2_cache: this.block2Cache.size };
  }

  sweep(): void {
    this.dedup.sweep();
    this.reassembly.sweep();
    this.block2Cache.sweep();
  }

  clear(): void {
    this.dedup.clear();
    this.reassembly.clear();
    this.block2Cache.clear();
  }

  /** `bytes` is the datagram `message` was decoded from (reported with a rejection). */
  handle(message: CoapMessage, peer: CoapPeer, bytes: Buffer): void {
    const dedupPeer = peerKey(peer);
    const seen = this.dedup.get(dedupPeer, message.messageId);
    if (seen !== undefined) {
      // A retransmission: repeat our answer (CON) or ignore (NON, or still being handled).
      if (seen !== PENDING && message.type === 'CON') this.hooks.transmit(seen, peer);
      return;
    }
    if (message.type === 'NON' && this.rejectsNon(message, peer, bytes)) {
      this.dedup.set(dedupPeer, message.messageId, PENDING);
      return;
    }
    const outcome = this.process(message, peer, bytes);
    // Hot path: a synchronous handler is answered at once, without a timer or a promise per request.
    if (!(outcome instanceof Promise)) {
      this.respond(message, peer, dedupPeer, outcome, false);
      return;
    }
    this.dedup.set(dedupPeer, message.messageId, PENDING);
    let separate = false;
    const timer =
      message.type === 'CON'
        ? setTimeout(() => {
            separate = true;
            const emptyAck = encodeMessage({ type: 'ACK', code: '0.00', messageId: message.messageId });
            this.dedup.set(dedupPeer, message.messageId, emptyAck);
            this.hooks.transmit(emptyAck, peer);
          }, this.limits.separateResponseAfterMs)
        : undefined;
    void outcome.then((response) => {
      clearTimeout(timer);
      this.respond(message, peer, dedupPeer, response, separate);
    });
  }

  private respond(
    message: CoapMessage,
    peer: CoapPeer,
    dedupPeer: string,
    response: OutgoingMessage,
    separate: boolean,
  ): void {
    if (message.observe !== undefined && !response.code.startsWith('2.')) this.observeRefused(message, peer);
    const suppressed = isSuppressed(message.noResponse, response.code);
    if (separate) {
      if (suppressed) return;
      // `response` is a fresh object from reply(): set the send-time fields in place.
      response.type = 'CON';
      response.messageId = this.hooks.nextMessageId();
      const bytes = encodeMessage(response);
      void this.hooks.reliable.send(bytes, peer, decodeMid(bytes));
      return;
    }
    if (message.type === 'CON') {
      response.type = 'ACK';
      response.messageId = message.messageId;
      const bytes = encodeMessage(suppressed ? { type: 'ACK', code: '0.00', messageId: message.messageId } : response);
      this.dedup.set(dedupPeer, message.messageId, bytes);
      this.hooks.transmit(bytes, peer);
    } else {
      // NON requests are deduplicated too (RFC 7252 §4.5), their answers are not repeated.
      this.dedup.set(dedupPeer, message.messageId, PENDING);
      if (!suppressed) {
        response.type = 'NON';
        response.messageId = this.hooks.nextMessageId();
        this.hooks.transmit(encodeMessage(response), peer);
      }
    }
  }

  /**
   * Send an observe notification for a relation registered through a route handler (RFC 7641 §4.2).
   * Resolves 'ack' (or 'sent' for a NON); 'rst' when the observer rejected it, 'timeout' when it never acknowledged
   * the CON (the caller drops the relation) and also when the endpoint stopped first (its stop ends every CON so).
   * `block2Szx` is the Block2 SZX the registration asked for: a notification's first block is no larger
   * (RFC 7959 §2.4 and §2.6), so a device with a small buffer can take it.
   */
  async notify(
    peer: CoapPeer,
    token: Buffer,
    sequence: number,
    response: CoapOutgoingResponse,
    confirmable = true,
    block2Szx?: number,
  ): Promise<NotifyOutcome> {
    const payload = toBuffer(response.payload);
    const szx = Math.min(block2Szx ?? 6, szxForSize(this.limits.blockSize));
    const sliced = payload.length > blockSize(szx);
    const message: OutgoingMessage = {
      type: confirmable ? 'CON' : 'NON',
      code: response.code,
      messageId: this.hooks.nextMessageId(),
      token,
      observe: sequence & 0xffffff,
      contentFormat: response.contentFormat,
      maxAge: response.maxAge,
      etag: response.etag,
      payload: sliced ? payload.subarray(0, blockSize(szx)) : payload,
      block2: sliced ? { num: 0, more: true, szx } : undefined,
      size2: sliced ? payload.length : undefined,
    };
    const bytes = encodeMessage(message);
    if (!confirmable) {
      this.hooks.transmit(bytes, peer);
      return 'sent';
    }
    return this.hooks.reliable.send(bytes, peer, message.messageId);
  }

  /**
   * Ends a relation registered through a route handler from the server's side: a NON response without Observe
   * takes the client off the list (RFC 7641 §3.2), so it knows to register again rather than wait for notifications.
   * Resolves to whether the message left: when it did not, the client still takes the relation for running.
   */
  endObservation(peer: CoapPeer, token: Buffer, code: string, reason: string, maxAge?: number): Promise<boolean> {
    const message: OutgoingMessage = {
      type: 'NON',
      code,
      messageId: this.hooks.nextMessageId(),
      token,
      contentFormat: 0,
      maxAge,
      payload: Buffer.from(reason),
    };
    return this.hooks.transmitReported(encodeMessage(message), peer);
  }

  /**
   * RFC 7252 §5.4.1: a critical option we do not know is answered with 4.02 in a CON request only; a NON carrying one
   * is rejected (§4.3: RST, as libcoap does), so the client does not take the 4.02 for the answer of a request served.
   */
  private rejectsNon(message: CoapMessage, peer: CoapPeer, bytes: Buffer): boolean {
    const unknown = message.unknownCritical.filter((n) => n !== PROXY_URI && n !== PROXY_SCHEME);
    if (unknown.length === 0) return false;
    this.hooks.onReject('bad_option', `unsupported critical option ${unknown.join(',')} (NON, rejected)`, peer, bytes);
    this.hooks.transmit(encodeMessage({ type: 'RST', code: '0.00', messageId: message.messageId }), peer);
    if (message.observe !== undefined) this.observeRefused(message, peer);
    return true;
  }

  /** Tells the route (see CoapObserveRefused), unless the method code is unknown: no GET or FETCH, it observes nothing. */
  private observeRefused(message: CoapMessage, peer: CoapPeer): void {
    const method = METHOD_NAMES[message.code];
    const refused = this.routes.get(message.path[0] ?? '')?.observeRefused;
    if (method && refused) refused(requestOf(message, method, peer, EMPTY));
  }

  private process(message: CoapMessage, peer: CoapPeer, bytes: Buffer): OutgoingMessage | Promise<OutgoingMessage> {
    const critical = message.unknownCritical;
    if (critical.length > 0) {
      // RFC 7252 §5.10.2: an endpoint that is no forward proxy answers Proxy-Uri / Proxy-Scheme with 5.05.
      if (critical.includes(PROXY_URI) || critical.includes(PROXY_SCHEME)) {
        this.hooks.onReject('proxy', 'Proxy-Uri or Proxy-Scheme (not a proxy)', peer, bytes);
        return reply(message, '5.05');
      }
      const detail = `unsupported critical option ${critical.join(',')}`;
      this.hooks.onReject('bad_option', detail, peer, bytes);
      return reply(message, '4.02', { payload: Buffer.from(detail) });
    }
    if (message.reservedBlockSzx !== undefined) {
      const detail = `${message.reservedBlockSzx === 27 ? 'Block1' : 'Block2'} with the reserved SZX 7`;
      this.hooks.onReject('bad_option', detail, peer, bytes);
      return reply(message, '4.00', { payload: Buffer.from(detail) });
    }
    const method = METHOD_NAMES[message.code];
    // RFC 7252 §5.8: a method code we do not know gets 4.05 like a method the resource does not allow.
    if (!method) {
      this.hooks.onReject('unknown_method', `unknown method code ${message.code}`, peer, bytes);
      return reply(message, '4.05');
    }
    const route = this.routes.get(message.path[0] ?? '');
    if (!route) return reply(message, '4.04');

    const max = this.limits.maxPayloadBytes;
    let payload = message.payload;
    const block1 = message.block1;
    if (block1) {
      if (block1.num === 0) {
        const refused = route.admit?.(requestOf(message, method, peer, EMPTY));
        if (refused) return this.shape(message, peer, refused, toBuffer(refused.payload));
      }
      const owner = peerKey(peer);
      const resourceKey = uploadKeyOf(message, owner);
      const size = blockSize(block1.szx);
      if (message.size1 !== undefined && message.size1 > max) {
        this.hooks.onReject('too_large', `Block1 upload announced as ${message.size1} bytes (max ${max})`, peer, bytes);
        return reply(message, '4.13', { size1: max });
      }
      const state = block1.num === 0 ? { owner, chunks: [], received: 0 } : this.reassembly.get(resourceKey);
      if (!state || state.received !== block1.num * size || (block1.more && payload.length !== size)) {
        this.reassembly.delete(resourceKey);
        const detail = state ? 'out of sequence' : 'of no upload in progress (never started, expired, or dropped)';
        this.hooks.onReject('block1_incomplete', `Block1 #${block1.num} ${detail}`, peer, bytes);
        return reply(message, '4.08', { payload: Buffer.from('Block1 out of sequence') });
      }
      state.chunks.push(payload);
      state.received += payload.length;
      if (state.received > max) {
        this.reassembly.delete(resourceKey);
        this.hooks.onReject('too_large', `Block1 upload passed ${max} bytes`, peer, bytes);
        return reply(message, '4.13', { size1: max });
      }
      if (block1.more) {
        this.reassembly.set(resourceKey, state);
        return reply(message, '2.31', { block1: { num: block1.num, more: true, szx: block1.szx } });
      }
      this.reassembly.delete(resourceKey);
      payload = Buffer.concat(state.chunks, state.received);
    } else if (payload.length > max) {
      this.hooks.onReject('too_large', `payload of ${payload.length} bytes (max ${max})`, peer, bytes);
      return reply(message, '4.13', { size1: max });
    }

    const block2 = message.block2;
    // A later block's GET that carries Observe registers (or deregisters) like any other (RFC 7641 §4.1): it goes to
    // the handler. Zephyr's coap_client completes a Block2 notification with GETs that repeat Observe 0, each on a new
    // token, and then matches notifications only to the last one.
    const cached =
      block2 && block2.num > 0 && message.observe === undefined
        ? this.block2Cache.get(resourceKeyOf(message, peerKey(peer)))
        : undefined;
    if (cached) return this.shape(message, peer, cached, cached.body);
    const request = requestOf(message, method, peer, payload);
    try {
      const result = route.handler(request);
      if (result instanceof Promise) {
        return result.then(
          (r) => this.answer(message, request, r),
          (error: unknown) => this.failed(message, request, error),
        );
      }
      return this.answer(message, request, result);
    } catch (error) {
      return this.failed(message, request, error);
    }
  }

  /**
   * A handler's response as sent, and the registration it carries taken if that is a 2.xx. An onObserving that
   * throws is the handler's error, and the answer still goes out (after an async handler, the throw would reject a
   * promise handle() does not wait on: an unhandled rejection, and no answer).
   */
  private answer(message: CoapMessage, request: CoapIncomingRequest, response: CoapOutgoingResponse): OutgoingMessage {
    const out = this.shape(message, request.source, response, toBuffer(response.payload));
    try {
      if (response.onObserving && out.code.startsWith('2.')) response.onObserving();
    } catch (error) {
      this.hooks.onHandlerError(error, request);
    }
    return out;
  }

  private failed(message: CoapMessage, request: CoapIncomingRequest, error: unknown): OutgoingMessage {
    this.hooks.onHandlerError(error, request);
    return reply(message, '5.00');
  }

  /** Turn a handler's response into the message to send: echo Block1, slice into Block2 when large. */
  private shape(message: CoapMessage, peer: CoapPeer, response: CoapOutgoingResponse, body: Buffer): OutgoingMessage {
    const { block1, block2 } = message;
    // The usual /ps answer (2.04 without payload or options): no option objects to build.
    if (
      !block1 &&
      !block2 &&
      body.length === 0 &&
      response.contentFormat === undefined &&
      response.locationPath === undefined &&
      response.observe === undefined &&
      response.maxAge === undefined &&
      response.etag === undefined
    ) {
      return reply(message, response.code);
    }
    const extra: Partial<OutgoingMessage> = {
      contentFormat: response.contentFormat,
      locationPath: response.locationPath,
      observe: response.observe,
      maxAge: response.maxAge,
      etag: response.etag,
      block1: block1 ? { num: block1.num, more: false, szx: block1.szx } : undefined,
    };
    const szx = Math.min(block2?.szx ?? 6, szxForSize(this.limits.blockSize));
    const size = blockSize(szx);
    if (body.length <= size && !block2?.num) return reply(message, response.code, { ...extra, payload: body });
    const num = block2?.num ?? 0;
    const start = num * size;
    if (start >= body.length && num > 0) return reply(message, '4.02', { payload: Buffer.from('Block2 out of range') });
    const more = start + size < body.length;
    const owner = peerKey(peer);
    const resourceKey = resourceKeyOf(message, owner);
    if (more) this.block2Cache.set(resourceKey, { ...response, owner, body });
    else this.block2Cache.delete(resourceKey);
    return reply(message, response.code, {
      ...extra,
      observe: num === 0 ? extra.observe : undefined,
      payload: body.subarray(start, start + size),
      block2: { num, more, szx },
      size2: num === 0 ? body.length : undefined,
    });
  }
}

/** A response to `message` (type and message id are set when it is sent). */
function reply(message: CoapMessage, code: string, extra?: Partial<OutgoingMessage>): OutgoingMessage {
  const out: OutgoingMessage = { type: 'ACK', messageId: 0, token: message.token, code };
  return extra ? Object.assign(out, extra) : out;
}

/** Block-wise state is kept per peer + method + resource (never per token: RFC 7959 §2.3). */
function resourceKeyOf(message: CoapMessage, owner: string): string {
  return `${owner}|${message.code}|${message.path.join('/')}?${message.query.join('&')}`;
}

/**
 * A Block1 upload's, and per Request-Tag too (RFC 9175 §3.3: blocks with different tags, an absent one included, are
 * different bodies). Zephyr's coap_client tags every upload and can run two at once (CONFIG_COAP_CLIENT_MAX_REQUESTS).
 */
function uploadKeyOf(message: CoapMessage, owner: string): string {
  const tag = message.requestTag;
  return `${resourceKeyOf(message, owner)}${tag === undefined ? '' : `#${tag.toString('hex')}`}`;
}

function toBuffer(payload: Buffer | string | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}

function decodeMid(bytes: Buffer): number {
  return bytes.readUInt16BE(2);
}

/** RFC 7967 No-Response: bit 2 suppresses 2.xx, bit 8 4.xx, bit 16 5.xx. */
function isSuppressed(noResponse: number | undefined, code: string): boolean {
  if (!noResponse) return false;
  const cls = code[0];
  return (
    (cls === '2' && (noResponse & 2) !== 0) ||
    (cls === '4' && (noResponse & 8) !== 0) ||
    (cls === '5' && (noResponse & 16) !== 0)
  );
}

const EMPTY = Buffer.alloc(0);
const PROXY_URI = 35;
const PROXY_SCHEME = 39;

function requestOf(message: CoapMessage, method: CoapMethod, peer: CoapPeer, payload: Buffer): CoapIncomingRequest {
  return {
    payload,
    method,
    confirmable: message.type === 'CON',
    path: message.path,
    query: message.query,
    contentFormat: message.contentFormat,
    accept: message.accept,
    observe: message.observe,
    block2Szx: message.block2?.szx,
    etags: message.etag === undefined ? undefined : [message.etag, ...(message.moreEtags ?? [])],
    token: message.token,
    source: peer,
  };
}
