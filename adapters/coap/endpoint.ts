// What the CoAP transport offers to the parts built on it (the /ps pub-sub resources, the
// gateway-initiated client, and the LwM2M server in ./lwm2m). One UDP socket serves all of them.

export type CoapMethod = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'FETCH' | 'PATCH' | 'iPATCH';

export interface CoapPeer {
  /** IP address; link-local IPv6 addresses keep their zone (`fe80::1%lowpan0`). */
  address: string;
  port: number;
}

export interface CoapIncomingRequest {
  method: CoapMethod;
  confirmable: boolean;
  /** Uri-Path segments, decoded. */
  path: string[];
  /** Uri-Query options in the order they arrived (`ep=node1`, `lt=300`, `Q`). */
  query: string[];
  contentFormat?: number | undefined;
  accept?: number | undefined;
  /** Observe option value when present (0 register, 1 deregister). */
  observe?: number | undefined;
  /** Block2 SZX of the request (early negotiation, RFC 7959 §2.4): answers use that block size or smaller. */
  block2Szx?: number | undefined;
  /** ETags of the representations the client holds (RFC 7252 §5.10.6.2); a match may be answered 2.03 Valid. */
  etags?: readonly Buffer[] | undefined;
  /** Whole payload (Block1 transfers are reassembled before a handler sees them). */
  payload: Buffer;
  token: Buffer;
  source: CoapPeer;
}

export interface CoapOutgoingResponse {
  /** "2.01", "4.04"... */
  code: string;
  contentFormat?: number;
  payload?: Buffer | string;
  locationPath?: string[];
  /** Set on the answer to an Observe=0 GET to accept the registration (RFC 7641); notifications follow. */
  observe?: number;
  /**
   * With `observe`: called once the answer is made, if it still is a 2.xx (the transport may make an error of it,
   * such as 4.02 for a Block2 past the end; an error goes to the route's observeRefused instead). Only a 2.xx answer
   * leaves the client observing (RFC 7641 §4.1): the handler registers the relation here, not before it answers. A
   * throw here is reported as the handler's error (onHandlerError), and the answer goes out as made.
   */
  onObserving?: () => void;
  /** Max-Age in seconds (RFC 7252 §5.10.5). */
  maxAge?: number;
  /** ETag of the representation (RFC 7252 §5.10.6), 1-8 bytes. */
  etag?: Buffer;
}

export type CoapRequestHandler = (req: CoapIncomingRequest) => Promise<CoapOutgoingResponse> | CoapOutgoingResponse;

/** Asked at the first block of a Block1 upload, before the rest is buffered: a response refuses it at once. */
export type CoapAdmit = (req: Omit<CoapIncomingRequest, 'payload'>) => CoapOutgoingResponse | undefined;

/**
 * Told of a request with Observe that was answered with an error (or rejected with RST), whoever made the answer: the
 * handler, the transport before the handler ran (4.02, 4.00, 4.08, 4.13, 5.05), after it (4.02 for a Block2 past the
 * end), or for a handler that threw (5.00). Its client observes nothing on that token now (RFC 7641 §4.1).
 */
export type CoapObserveRefused = (req: Omit<CoapIncomingRequest, 'payload'>) => void;

export interface CoapRouteOptions {
  admit?: CoapAdmit;
  observeRefused?: CoapObserveRefused;
}

export interface CoapClientRequest {
  peer: CoapPeer;
  method: CoapMethod;
  path: string[];
  query?: string[];
  contentFormat?: number;
  accept?: number;
  payload?: Buffer | string;
  /** Default true (CON). */
  confirmable?: boolean;
  /** Overall deadline including retransmissions and Block2 follow-ups. */
  timeoutMs?: number;
  /** Block1 size for this request (16..1024, a power of two) instead of the endpoint's. */
  blockSize?: number;
  /** Aborting stops the request's retransmissions and rejects it with CoapCancelledError (its owner stopped). */
  signal?: AbortSignal;
}

export interface CoapClientResponse {
  code: string;
  contentFormat?: number | undefined;
  observe?: number | undefined;
  /** Max-Age in seconds when the response carried it (RFC 7252 §5.10.5; 60 when absent). */
  maxAge?: number | undefined;
  /** Location-Path and Location-Query segments of a 2.01 (RFC 7252 §5.10.7), when present. */
  locationPath?: string[] | undefined;
  locationQuery?: string[] | undefined;
  etag?: Buffer | undefined;
  /** Whole payload (Block2 transfers are fetched completely). */
  payload: Buffer;
  source: CoapPeer;
}

export interface CoapObservation {
  /** The first response (the registration's answer). */
  readonly first: CoapClientResponse;
  /** Deregister (GET with Observe=1, or RST on the next notification). */
  cancel(): Promise<void>;
  /** End the relation here without telling the device (it is gone): the next notification, if any, gets RST. */
  close(): void;
}

/** Whether a peer answers at all, whatever becomes of its requests. */
export interface CoapReachability {
  /**
   * CoAP ping (RFC 7252 §4.3): true when the peer answers an empty CON, false after MAX_RETRANSMIT or when `signal`
   * aborts it first.
   */
  ping(peer: CoapPeer, signal?: AbortSignal): Promise<boolean>;
}

export interface CoapEndpoint {
  /** Serve incoming requests whose first Uri-Path segment is `firstSegment` (e.g. "rd", "bs", "dp", "ps"). */
  route(firstSegment: string, handler: CoapRequestHandler, options?: CoapRouteOptions): void;
  /** Send a request and wait for its (possibly separate, possibly block-wise) response. Rejects on timeout. */
  request(req: CoapClientRequest): Promise<CoapClientResponse>;
  /** Register an observation (RFC 7641); `onNotify` gets every later notification, in order. */
  observe(req: CoapClientRequest, onNotify: (res: CoapClientResponse) => void): Promise<CoapObservation>;
  /** Told of every response on a token nobody waits for, such as a notification of a relation from before a restart. */
  onStrayResponse?(listener: (peer: CoapPeer) => void): void;
}
