// Transport-neutral SMP client: sequence numbers, one request in flight, response matching, timeouts
// and retries. The transport supplies `send` (already framed if it needs framing) and feeds every
// received SMP packet to `handlePacket`.
import type { CborValue } from './cbor.js';
import type { SmpHeader, SmpOpCode, SmpVersion } from './header.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from './packet.js';
import { type DecodeResult, fail, ok } from './result.js';

export interface SmpClientOptions {
  send(packet: Uint8Array): Promise<void> | void;
  /** Wait per attempt for the answer, on top of `wireTimeMs`. */
  timeoutMs?: number;
  /**
   * Time the transport itself needs to carry this request and the largest answer (a slow UART), added to each
   * attempt's wait so that it does not count against the device. 0 when unset.
   */
  wireTimeMs?(packet: Uint8Array): number;
  /** Resends after a timeout, with the same sequence number. */
  retries?: number;
  version?: SmpVersion;
  /**
   * Bytes the transport adds around a packet inside the device's receive buffer, which mcumgr_params' buf_size
   * counts: 4 on serial (length and CRC), 0 on BLE. Upload chunks are sized to leave room for them.
   */
  framingOverhead?: number;
  /**
   * Largest SMP packet the transport carries (a UDP datagram that needs no IP fragmentation); larger requests are
   * refused before they go out, and upload chunks are sized to fit. No limit when unset.
   */
  maxPacketSize?: number;
}

export interface SmpRequest {
  op: SmpOpCode;
  group: number;
  id: number;
  body?: { [key: string]: CborValue };
  timeoutMs?: number;
  retries?: number;
  /**
   * Abandons the request: no further attempt goes out, the next request may go at once, and the promise rejects
   * with the signal's reason. An answer that still comes counts as unsolicited.
   */
  signal?: AbortSignal;
}

export interface SmpResponse {
  header: SmpHeader;
  body: { [key: string]: CborValue };
  /** 0 = success; v1 `rc` or v2 `err.rc`. */
  rc: number;
  /** The group an SMP v2 error belongs to. */
  errGroup?: number;
  attempts: number;
}

export class SmpTimeoutError extends Error {
  override readonly name = 'SmpTimeoutError';
}

export class SmpClosedError extends Error {
  override readonly name = 'SmpClosedError';
}

interface InFlight {
  seq: number;
  group: number;
  id: number;
  op: SmpOpCode;
  attempts: number;
  resolve(res: SmpResponse): void;
  reject(err: Error): void;
  timer?: NodeJS.Timeout;
  /** Stops listening to the request's abort signal. */
  unlisten?(): void;
}

export type SmpPacketOutcome = 'response' | 'unsolicited';

export class SmpClient {
  readonly #send: SmpClientOptions['send'];
  readonly #wireTimeMs: SmpClientOptions['wireTimeMs'];
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #version: SmpVersion;
  readonly framingOverhead: number;
  readonly maxPacketSize: number | undefined;
  #seq = 0;
  #inFlight: InFlight | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #closed: Error | undefined;

  constructor(opts: SmpClientOptions) {
    this.#send = opts.send;
    this.#wireTimeMs = opts.wireTimeMs;
    this.#timeoutMs = opts.timeoutMs ?? 5000;
    this.#retries = opts.retries ?? 2;
    this.#version = opts.version ?? 1;
    this.framingOverhead = opts.framingOverhead ?? 0;
    this.maxPacketSize = opts.maxPacketSize;
  }

  /** Sends a request and resolves with the matching response (whatever its rc). Requests run one at a time. */
  request(req: SmpRequest): Promise<SmpResponse> {
    const run = this.#queue.then(() => this.#run(req));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Feeds one received SMP packet. Returns whether it answered the request in flight, or why it was rejected. */
  handlePacket(packet: Uint8Array): DecodeResult<SmpPacketOutcome> {
    const decoded = decodeSmpMessage(packet);
    if (!decoded.ok) return decoded;
    const msg = decoded.value;
    if (msg.header.op !== 1 && msg.header.op !== 3) return fail(`SMP op ${msg.header.op} is not a response`);
    const req = this.#inFlight;
    if (!req || msg.header.seq !== req.seq || msg.header.group !== req.group || msg.header.id !== req.id) {
      return ok('unsolicited');
    }
    if (msg.header.op !== req.op + 1) return fail(`SMP response op ${msg.header.op} does not answer op ${req.op}`);
    this.#finish(req);
    req.resolve(toResponse(msg, req.attempts));
    return ok('response');
  }

  /** Rejects the request in flight and every later one until `reopen()`. */
  close(reason = 'SMP transport closed'): void {
    this.#closed = new SmpClosedError(reason);
    const req = this.#inFlight;
    if (req) {
      this.#finish(req);
      req.reject(this.#closed);
    }
  }

  reopen(): void {
    this.#closed = undefined;
  }

  async #run(req: SmpRequest): Promise<SmpResponse> {
    if (this.#closed) throw this.#closed;
    req.signal?.throwIfAborted();
    const seq = this.#seq;
    this.#seq = (this.#seq + 1) & 0xff;
    const packet = encodeSmpMessage({
      op: req.op,
      version: this.#version,
      group: req.group,
      id: req.id,
      seq,
      body: req.body ?? {},
    });
    if (this.maxPacketSize !== undefined && packet.length > this.maxPacketSize) {
      throw new Error(
        `SMP request of ${packet.length} bytes is larger than the transport's ${this.maxPacketSize}-byte packets`,
      );
    }
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    const wireMs = Math.max(0, Math.ceil(this.#wireTimeMs?.(packet) ?? 0));
    const waited = wireMs > 0 ? `${timeoutMs} ms (+${wireMs} ms on the wire)` : `${timeoutMs} ms`;
    const maxAttempts = 1 + (req.retries ?? this.#retries);
    return new Promise<SmpResponse>((resolve, reject) => {
      const inFlight: InFlight = { seq, group: req.group, id: req.id, op: req.op, attempts: 0, resolve, reject };
      this.#inFlight = inFlight;
      const { signal } = req;
      if (signal) {
        const onAbort = (): void => {
          if (this.#inFlight !== inFlight) return;
          this.#finish(inFlight);
          reject(signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        inFlight.unlisten = () => signal.removeEventListener('abort', onAbort);
      }
      const attempt = (): void => {
        if (this.#inFlight !== inFlight) return;
        if (inFlight.attempts >= maxAttempts) {
          this.#finish(inFlight);
          reject(
            new SmpTimeoutError(
              `SMP group ${req.group} id ${req.id}: no response after ${maxAttempts} attempt(s) of ${waited}`,
            ),
          );
          return;
        }
        inFlight.attempts++;
        inFlight.timer = setTimeout(attempt, timeoutMs + wireMs);
        Promise.resolve()
          .then(() => this.#send(packet))
          .catch((err: unknown) => {
            if (this.#inFlight !== inFlight) return;
            this.#finish(inFlight);
            reject(new Error(`SMP send failed: ${err instanceof Error ? err.message : String(err)}`));
          });
      };
      attempt();
    });
  }

  #finish(req: InFlight): void {
    clearTimeout(req.timer);
    req.unlisten?.();
    if (this.#inFlight === req) this.#inFlight = undefined;
  }
}

function toResponse(msg: SmpMessage, attempts: number): SmpResponse {
  const { body } = msg;
  const res: SmpResponse = { header: msg.header, body, rc: 0, attempts };
  if (typeof body.rc === 'number') res.rc = body.rc;
  const err = body.err;
  if (err && typeof err === 'object' && !Array.isArray(err) && !(err instanceof Uint8Array)) {
    if (typeof err.rc === 'number') res.rc = err.rc;
    if (typeof err.group === 'number') res.errGroup = err.group;
  }
  return res;
}
