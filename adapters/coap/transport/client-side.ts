// The client half of the endpoint: token matching, piggy-backed and separate responses, Block2 fetch and Block1
// upload, observe relations (RFC 7641) with notification ordering, and multicast requests with many answers.
import { randomBytes } from 'node:crypto';
import type { CoapClientRequest, CoapClientResponse, CoapMethod, CoapObservation, CoapPeer } from '../endpoint.js';
import { CoapCancelledError, CoapDeadlineError, CoapResetError, CoapUnreachableError } from './errors.js';
import { type CoapMessage, encodeMessage, type OutgoingMessage } from './message.js';
import { NstartQueue } from './nstart-queue.js';
import { type BlockOption, blockSize, szxForSize } from './options.js';
import { peerKey } from './peer.js';
import type { ConfirmableSender } from './reliability.js';
import { ResponseReplies } from './response-replies.js';

const METHOD_CODES: Record<CoapMethod, string> = {
  GET: '0.01',
  POST: '0.02',
  PUT: '0.03',
  DELETE: '0.04',
  FETCH: '0.05',
  PATCH: '0.06',
  iPATCH: '0.07',
};

export interface ClientHooks {
  transmit(bytes: Buffer, peer: CoapPeer): void;
  /** A request to a group address (`ff05::fd%eth0`). */
  transmitMulticast(bytes: Buffer, peer: CoapPeer): void;
  nextMessageId(): number;
  reliable: ConfirmableSender;
  blockSize: number;
  maxPayloadBytes: number;
  defaultTimeoutMs: number;
  maxObservations: number;
  /** A response (not an ACK) on a token nobody waits for: a notification of a relation this process does not know. */
  strayResponse?(peer: CoapPeer): void;
}

// Tokens stay random (RFC 7252 §5.3.1, off-path spoofing) but are cut from a pooled buffer: one
// randomFillSync per 512 requests instead of one per request.
const TOKEN_POOL_SIZE = 8 * 512;
let tokenPool = Buffer.alloc(0);
let tokenOffset = TOKEN_POOL_SIZE;
function newToken(): Buffer {
  if (tokenOffset >= TOKEN_POOL_SIZE) {
    tokenPool = randomBytes(TOKEN_POOL_SIZE);
    tokenOffset = 0;
  }
  tokenOffset += 8;
  return tokenPool.subarray(tokenOffset - 8, tokenOffset);
}

type TokenListener = (message: CoapMessage, peer: CoapPeer) => void;

/** Requests that may wait for their turn with one peer (NSTART = 1); more are refused at once. */
const MAX_WAITING_PER_PEER = 64;

interface Exchange {
  code: string;
  path: string[];
  query: string[];
  contentFormat?: number | undefined;
  accept?: number | undefined;
  observe?: number | undefined;
  block1?: BlockOption | undefined;
  block2?: BlockOption | undefined;
  size1?: number | undefined;
  payload?: Buffer | undefined;
  confirmable: boolean;
  token?: Buffer | undefined;
  echo?: Buffer | undefined;
}

// RFC 7641 §3.4: a notification is fresh when its sequence number is newer modulo 2^24, or 128 s have passed.
// Times here, like every deadline in this file, are performance.now(): a wall-clock step must not stretch or cut them.
function isFresher(previous: number, next: number, previousAt: number, now: number): boolean {
  return (
    (previous < next && next - previous < 2 ** 23) ||
    (previous > next && previous - next > 2 ** 23) ||
    now > previousAt + 128_000
  );
}

export class ClientSide {
  private readonly listeners = new Map<string, TokenListener>();
  private readonly replies: ResponseReplies;
  /** The close() of every live observation: cancel(), stop() and a failed notification all end one through it. */
  private readonly observations = new Set<() => void>();
  /** NSTART = 1: every unicast interaction (a request with its block-wise follow-ups, a ping) takes its turn. */
  private readonly nstart = new NstartQueue(MAX_WAITING_PER_PEER);

  constructor(private readonly hooks: ClientHooks) {
    this.replies = new ResponseReplies(hooks.transmit);
  }

  stats(): Record<string, number> {
    return {
      pending_tokens: this.listeners.size,
      observations: this.observations.size,
      nstart_waiting: this.nstart.waiting,
    };
  }

  /** A response-coded message (piggy-backed in an ACK, or CON/NON separate/notification) arrived. */
  handleResponse(message: CoapMessage, peer: CoapPeer): void {
    const listener = this.listeners.get(message.token.toString('hex'));
    if (listener === undefined && message.type !== 'ACK') this.hooks.strayResponse?.(peer);
    if (message.type !== 'ACK' && !this.replies.answer(message, peer, listener !== undefined)) return;
    listener?.(message, peer);
  }

  clear(): void {
    for (const close of this.observations) close();
    this.nstart.clear();
    this.listeners.clear();
    this.replies.clear();
  }

  /**
   * CoAP ping (RFC 7252 §4.3): true when the peer answers an empty CON (RST, or ACK), false after MAX_RETRANSMIT or
   * once `signal` aborts it.
   */
  ping(peer: CoapPeer, signal?: AbortSignal): Promise<boolean> {
    return this.turn(peer, () => this.pingNow(peer, signal), signal).catch(() => false);
  }

  private async pingNow(peer: CoapPeer, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return false;
    const messageId = this.hooks.nextMessageId();
    const bytes = encodeMessage({ type: 'CON', code: '0.00', messageId });
    const cancel = (): void => this.hooks.reliable.cancel(peer, messageId);
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const outcome = await this.hooks.reliable.send(bytes, peer, messageId);
      return outcome === 'rst' || outcome === 'ack';
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  request(req: CoapClientRequest): Promise<CoapClientResponse> {
    const deadline = performance.now() + (req.timeoutMs ?? this.hooks.defaultTimeoutMs);
    return this.turn(req.peer, () => this.requestNow(req, deadline), req.signal, deadline);
  }

  /**
   * Run `interaction` in `peer`'s turn (NSTART = 1, RFC 7252 §4.7). A request to a group is not held: it is a NON
   * whose answers come from many servers.
   */
  private turn<T>(peer: CoapPeer, interaction: () => Promise<T>, signal?: AbortSignal, deadline?: number): Promise<T> {
    if (isGroup(peer)) return interaction();
    return this.nstart.run(peer, interaction, signal, deadline);
  }

  /** The rest of a Block2 response, fetched in the peer's turn: a response without more blocks needs none. */
  private completeBlock2InTurn(
    peer: CoapPeer,
    base: Exchange,
    first: CoapMessage,
    deadline: number,
  ): Promise<CoapClientResponse> {
    if (!first.block2?.more || first.block2.num !== 0) return Promise.resolve(toResponse(first, peer));
    return this.turn(peer, () => this.completeBlock2(peer, base, first, deadline), undefined, deadline);
  }

  private async requestNow(req: CoapClientRequest, deadline: number): Promise<CoapClientResponse> {
    const payload = toBuffer(req.payload);
    const base = this.exchangeFrom(req);
    const size = req.blockSize ?? this.hooks.blockSize;
    const sent = (blockLimit: number): Promise<CoapMessage> =>
      payload.length > blockLimit
        ? this.upload(req.peer, base, payload, blockLimit, deadline, req.signal)
        : this.exchange(req.peer, { ...base, payload }, deadline, req.signal);
    let first = await sent(size);
    // RFC 7959 §2.9.3: a 4.13 may name the block size the server can take: send once more in those.
    const hinted = first.code === '4.13' ? blockSizeHint(first) : undefined;
    const used = payload.length > size ? blockSize(szxForSize(size)) : payload.length;
    if (hinted !== undefined && hinted < used) first = await sent(hinted);
    // A FETCH body is the query: it goes with every block of the answer (RFC 8132 §2.3.2) when it fits one datagram.
    // A POST or PUT body was delivered and acted on: the follow-ups leave it out (RFC 7959 §2.7).
    const followUp = base.code === METHOD_CODES.FETCH && payload.length <= size ? { ...base, payload } : base;
    return this.completeBlock2(req.peer, followUp, first, deadline, req.signal);
  }

  async observe(req: CoapClientRequest, onNotify: (res: CoapClientResponse) => void): Promise<CoapObservation> {
    if (this.observations.size >= this.hooks.maxObservations) {
      throw new Error(`too many observations (limit ${this.hooks.maxObservations})`);
    }
    const deadline = performance.now() + (req.timeoutMs ?? this.hooks.defaultTimeoutMs);
    const token = newToken();
    // Kept for the observation's life: built field by field, because the spread gave each of these objects its own
    // hidden class (two V8 maps, ~0.3 KiB, per observation in a heap snapshot of 1,000 LwM2M clients).
    const ex = this.exchangeFrom(req);
    const base: Exchange = {
      code: ex.code,
      path: ex.path,
      query: ex.query,
      contentFormat: ex.contentFormat,
      accept: ex.accept,
      confirmable: ex.confirmable,
      observe: 0,
      token,
    };
    let lastSequence = -1;
    let lastAt = 0;
    let chain = Promise.resolve();
    const tokenHex = token.toString('hex');
    const notificationListener: TokenListener = (message, peer) => {
      const now = performance.now();
      if (message.observe !== undefined) {
        if (lastSequence >= 0 && !isFresher(lastSequence, message.observe, lastAt, now)) return;
        lastSequence = message.observe;
        lastAt = now;
      }
      // Keep delivery in order even when a notification needs Block2 follow-ups.
      chain = chain
        .then(async () => {
          if (closed) return;
          let full: CoapClientResponse;
          try {
            full = await this.completeBlock2InTurn(
              peer,
              { ...base, observe: undefined, token: undefined },
              message,
              performance.now() + this.hooks.defaultTimeoutMs,
            );
          } catch (error) {
            // A notification we cannot complete (too large, follow-up timed out) ends the relation: the next one
            // gets RST (RFC 7641 §3.6) and the caller hears a 5.02 and may register again.
            if (!closed) onNotify(incomplete(error, peer));
            close();
            return;
          }
          if (!closed) onNotify(full);
        })
        .catch(() => {});
      // RFC 7641 §3.2: a notification without Observe, or with an error code, ends the relation.
      if (message.observe === undefined || !message.code.startsWith('2.')) release();
    };
    // `release` frees the token and the slot when the relation ends; `close` also stops delivery (cancel, stop).
    let live = true;
    let closed = false;
    const release = (): void => {
      if (!live) return;
      live = false;
      this.observations.delete(close);
      if (this.listeners.get(tokenHex) === notificationListener) this.listeners.delete(tokenHex);
    };
    const close = (): void => {
      closed = true;
      release();
    };
    this.observations.add(close);
    let first: CoapClientResponse;
    const register = async (): Promise<CoapClientResponse> => {
      const firstMessage = await this.exchange(req.peer, base, deadline, req.signal, notificationListener);
      if (firstMessage.observe !== undefined) {
        lastSequence = firstMessage.observe;
        lastAt = performance.now();
      }
      const response = await this.completeBlock2(
        req.peer,
        { ...base, observe: undefined, token: undefined },
        firstMessage,
        deadline,
        req.signal,
      );
      if (firstMessage.observe === undefined || !firstMessage.code.startsWith('2.')) release();
      return response;
    };
    try {
      first = await this.turn(req.peer, register, req.signal, deadline);
    } catch (error) {
      close();
      throw error;
    }
    return {
      first,
      close,
      cancel: async () => {
        const wasLive = live;
        close();
        if (!wasLive) return;
        // Proactive deregistration (RFC 7641 §3.6): same token, Observe=1.
        const deadline = performance.now() + 5000;
        await this.turn(
          req.peer,
          () => this.exchange(req.peer, { ...base, observe: 1 }, deadline, undefined),
          undefined,
          deadline,
        ).catch(() => undefined);
      },
    };
  }

  /** Send one NON request (typically to a multicast group) and hand every answer to `onResponse` for windowMs. */
  async multicast(
    req: CoapClientRequest,
    windowMs: number,
    onResponse: (res: CoapClientResponse) => void,
  ): Promise<void> {
    const token = newToken();
    const tokenHex = token.toString('hex');
    const base = this.exchangeFrom(req);
    const answers: Promise<void>[] = [];
    this.listeners.set(tokenHex, (message, peer) => {
      // RFC 7959 §2.8: the rest of a Block2 answer to a multicast request is fetched from its responder by unicast.
      const deadline = performance.now() + (req.timeoutMs ?? this.hooks.defaultTimeoutMs);
      answers.push(
        this.completeBlock2InTurn(peer, base, message, deadline).then(onResponse, (error: unknown) =>
          onResponse(incomplete(error, peer)),
        ),
      );
    });
    try {
      this.hooks.transmitMulticast(
        encodeMessage({
          ...base,
          type: 'NON',
          messageId: this.hooks.nextMessageId(),
          token,
          payload: toBuffer(req.payload),
        }),
        req.peer,
      );
      await new Promise((resolve) => setTimeout(resolve, windowMs));
    } finally {
      this.listeners.delete(tokenHex);
      // Answers after the window are late, not unknown: no RST for a device that took its time (RFC 7252 §8.2).
      this.replies.retire(tokenHex);
    }
    await Promise.all(answers);
  }

  private exchangeFrom(req: CoapClientRequest): Exchange {
    return {
      code: METHOD_CODES[req.method],
      path: req.path,
      query: req.query ?? [],
      contentFormat: req.contentFormat,
      accept: req.accept,
      confirmable: req.confirmable ?? true,
    };
  }

  /**
   * One request and its response, sent once more with the server's Echo when it answers 4.01 with one (RFC 9175
   * §2.3): Zephyr's coap_server built with CONFIG_COAP_SERVER_ECHO challenges a GET of /.well-known/core (and, with
   * CONFIG_COAP_SERVER_ECHO_REQUIRE_FOR_UNSAFE, every PUT, POST and DELETE) that way and never answers otherwise.
   */
  private async exchange(
    peer: CoapPeer,
    ex: Exchange,
    deadline: number,
    signal: AbortSignal | undefined,
    keepListening?: TokenListener,
  ): Promise<CoapMessage> {
    const response = await this.exchangeOnce(peer, ex, deadline, signal, keepListening);
    if (response.code !== '4.01' || response.echo === undefined || ex.echo !== undefined) return response;
    return this.exchangeOnce(peer, { ...ex, echo: response.echo }, deadline, signal, keepListening);
  }

  /**
   * One request/response exchange. Resolves with the response message (piggy-backed or separate); rejects with
   * CoapCancelledError, and stops retransmitting, once `signal` aborts. When `keepListening` is given, the token
   * stays registered afterwards and later messages go to it (observe).
   */
  private exchangeOnce(
    peer: CoapPeer,
    ex: Exchange,
    deadline: number,
    signal: AbortSignal | undefined,
    keepListening?: TokenListener,
  ): Promise<CoapMessage> {
    if (signal?.aborted) return Promise.reject(new CoapCancelledError(peer));
    const token = ex.token ?? newToken();
    const tokenHex = token.toString('hex');
    const messageId = this.hooks.nextMessageId();
    const message: OutgoingMessage = { ...ex, type: ex.confirmable ? 'CON' : 'NON', messageId, token };
    const bytes = encodeMessage(message);
    return new Promise<CoapMessage>((resolve, reject) => {
      let done = false;
      let acknowledged = false;
      const finish = (error: Error | undefined, response?: CoapMessage): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', cancelled);
        if (ex.confirmable) this.hooks.reliable.cancel(peer, messageId);
        if (keepListening && !error) this.listeners.set(tokenHex, keepListening);
        else if (this.listeners.get(tokenHex) === listener) this.listeners.delete(tokenHex);
        // A late answer gets an ACK, not a RST; not on an observation's token, whose notifications should end it.
        if (error && ex.token === undefined) this.replies.retire(tokenHex);
        if (error) reject(error);
        else if (response) resolve(response);
      };
      const listener: TokenListener = (response, from) => {
        if (isGroup(peer) || peerKey(from) === peerKey(peer) || sameHost(from, peer)) {
          finish(undefined, response);
        }
      };
      const timer = setTimeout(
        () => finish(new CoapDeadlineError(peer, acknowledged)),
        Math.max(0, deadline - performance.now()),
      );
      const cancelled = (): void => finish(new CoapCancelledError(peer));
      signal?.addEventListener('abort', cancelled, { once: true });
      this.listeners.set(tokenHex, listener);
      if (ex.confirmable) {
        void this.hooks.reliable.send(bytes, peer, messageId).then((outcome) => {
          if (outcome === 'ack') acknowledged = true;
          else if (outcome === 'rst') finish(new CoapResetError(peer));
          else if (outcome === 'timeout') finish(new CoapUnreachableError(peer));
        });
      } else {
        this.hooks.transmit(bytes, peer);
      }
    });
  }

  private async upload(
    peer: CoapPeer,
    base: Exchange,
    payload: Buffer,
    preferredSize: number,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<CoapMessage> {
    let szx = szxForSize(preferredSize);
    let offset = 0;
    for (let rounds = 0; rounds < 70_000; rounds++) {
      const size = blockSize(szx);
      const num = Math.floor(offset / size);
      const chunk = payload.subarray(offset, offset + size);
      const more = offset + size < payload.length;
      const response = await this.exchange(
        peer,
        { ...base, payload: chunk, block1: { num, more, szx }, size1: num === 0 ? payload.length : undefined },
        deadline,
        signal,
      );
      if (!more || response.code !== '2.31') return response;
      offset += size;
      // The server may ask for smaller blocks (RFC 7959 §2.5): continue at the same byte offset.
      if (response.block1 && response.block1.szx < szx) szx = response.block1.szx;
    }
    throw new Error('Block1 upload did not finish');
  }

  private async completeBlock2(
    peer: CoapPeer,
    base: Exchange,
    answer: CoapMessage,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<CoapClientResponse> {
    const first = await this.fromBlockZero(peer, base, answer, deadline, signal);
    if (!first.block2?.more || first.block2.num !== 0) return toResponse(first, peer);
    const chunks = [first.payload];
    let total = first.payload.length;
    const szx = first.block2.szx;
    for (let num = 1; num < 70_000; num++) {
      // The request again, with its own method (RFC 7959 §2.4, §2.7: a POST answer is not the GET representation).
      const next = await this.exchange(
        peer,
        { ...base, block1: undefined, size1: undefined, block2: { num, more: false, szx } },
        deadline,
        signal,
      );
      if (!next.code.startsWith('2.')) return toResponse(next, peer);
      chunks.push(next.payload);
      total += next.payload.length;
      if (total > this.hooks.maxPayloadBytes)
        throw new Error(`Block2 response exceeds ${this.hooks.maxPayloadBytes} bytes (max_payload)`);
      if (!next.block2?.more) break;
    }
    return { ...toResponse(first, peer), payload: Buffer.concat(chunks, total) };
  }

  /**
   * A GET or FETCH that named no block but was answered with a later one than the first asks for block 0, once.
   * Zephyr's coap_server sample answers /large from where a transfer the client gave up on stopped (large_get() moves
   * its per-client block context only for a Block2 option), and /.well-known/core does the same with
   * CONFIG_COAP_WELL_KNOWN_BLOCK_WISE (one static context): taken as it is, that block would be the value.
   */
  private fromBlockZero(
    peer: CoapPeer,
    base: Exchange,
    answer: CoapMessage,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<CoapMessage> {
    const safe = base.code === METHOD_CODES.GET || base.code === METHOD_CODES.FETCH;
    if (!answer.block2 || answer.block2.num === 0 || !safe) return Promise.resolve(answer);
    const block2 = { num: 0, more: false, szx: answer.block2.szx };
    return this.exchange(peer, { ...base, block1: undefined, size1: undefined, block2 }, deadline, signal);
  }
}

/**
 * The block size a 4.13 asks for: its Block1's, else one that fits its Size1. Zephyr's coap_server answers a datagram
 * larger than its receive buffer (CONFIG_COAP_SERVER_MESSAGE_SIZE, 256 by default) with 4.13 and that buffer's size
 * as Size1, header and options included, where RFC 7959 §4 means the body: blocks of half of it leave the room.
 */
function blockSizeHint(response: CoapMessage): number | undefined {
  if (response.block1) return blockSize(response.block1.szx);
  return response.size1 === undefined ? undefined : blockSize(szxForSize(response.size1 / 2));
}

function isGroup(peer: CoapPeer): boolean {
  return peer.address.startsWith('ff');
}

function sameHost(a: CoapPeer, b: CoapPeer): boolean {
  return a.port === b.port && a.address.split('%')[0] === b.address.split('%')[0];
}

function toResponse(message: CoapMessage, peer: CoapPeer): CoapClientResponse {
  return {
    code: message.code,
    contentFormat: message.contentFormat,
    observe: message.observe,
    maxAge: message.maxAge,
    locationPath: message.locationPath.length > 0 ? message.locationPath : undefined,
    locationQuery: message.locationQuery,
    etag: message.etag,
    payload: message.payload,
    source: peer,
  };
}

/**
 * A response whose Block2 transfer failed (too large, timed out), reported as an error response: we act as the
 * gateway in front of the device, and RFC 7252 §5.9.3.3 has 5.02 Bad Gateway for a bad answer from upstream.
 */
function incomplete(error: unknown, peer: CoapPeer): CoapClientResponse {
  return { code: '5.02', payload: Buffer.from(`incomplete Block2 response: ${String(error)}`), source: peer };
}

function toBuffer(payload: Buffer | string | undefined): Buffer {
  if (payload === undefined) return Buffer.alloc(0);
  return typeof payload === 'string' ? Buffer.from(payload) : payload;
}
