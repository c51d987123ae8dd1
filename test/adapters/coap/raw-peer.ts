// A plain UDP socket on ::1 that sends hand-built CoAP datagrams (any code, any option, broken framing) and reads
// the answers back, for tests of what the endpoint does with messages our own encoder would never produce.
import { createSocket, type Socket } from 'node:dgram';
import { type CoapMessage, decodeMessage } from '../../../adapters/coap/transport/message.js';
import { closedAfterEach } from '../../helpers/closed-after-each.js';

const TYPES = { CON: 0, NON: 1, ACK: 2, RST: 3 } as const;

export interface Frame {
  type: keyof typeof TYPES;
  /** "0.08", "2.05"... */
  code: string;
  mid: number;
  token?: number[];
  /** Option number and value, in any order (sorted here). */
  options?: Array<[number, Buffer | string | number[]]>;
  payload?: Buffer | string;
}

/** RFC 7252 §3 framing, written independently of the codec under test. */
export function frame(f: Frame): Buffer {
  const [cls = '0', detail = '0'] = f.code.split('.');
  const token = f.token ?? [];
  const out: number[] = [0x40 | (TYPES[f.type] << 4) | token.length, (Number(cls) << 5) | Number(detail)];
  out.push(f.mid >> 8, f.mid & 0xff, ...token);
  let previous = 0;
  const options = [...(f.options ?? [])].sort((a, b) => a[0] - b[0]);
  for (const [number, raw] of options) {
    const value = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw);
    const delta = nibble(number - previous);
    const length = nibble(value.length);
    out.push((delta.nibble << 4) | length.nibble, ...delta.extended, ...length.extended, ...value);
    previous = number;
  }
  const payload = f.payload === undefined ? Buffer.alloc(0) : Buffer.from(f.payload);
  if (payload.length > 0) out.push(0xff, ...payload);
  return Buffer.from(out);
}

function nibble(n: number): { nibble: number; extended: number[] } {
  if (n < 13) return { nibble: n, extended: [] };
  if (n < 269) return { nibble: 13, extended: [n - 13] };
  return { nibble: 14, extended: [(n - 269) >> 8, (n - 269) & 0xff] };
}

export class RawPeer {
  private readonly queue: CoapMessage[] = [];
  private waiter: ((m: CoapMessage) => void) | undefined;
  private listener: ((m: CoapMessage, fromPort: number, size: number) => void) | undefined;
  private closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('message', (bytes, rinfo) => {
      const decoded = decodeMessage(bytes);
      if (!decoded.ok) throw new Error(`undecodable answer ${bytes.toString('hex')}: ${decoded.error}`);
      if (this.listener) this.listener(decoded.message, rinfo.port, bytes.length);
      else if (this.waiter) this.waiter(decoded.message);
      else this.queue.push(decoded.message);
    });
  }

  static async open(): Promise<RawPeer> {
    const socket = createSocket('udp6');
    await new Promise<void>((resolve) => socket.bind(0, '::1', () => resolve()));
    return new RawPeer(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Nothing once closed: a reply a test scheduled for later is lost like a switched-off device's (a send on the
   * closed socket would throw after the test, failing the run as an unhandled error). */
  send(bytes: Buffer, port: number): void {
    if (this.closed) return;
    this.socket.send(bytes, port, '::1');
  }

  /** Hand every datagram (with the port it came from and its size) to `listener` as it arrives, not to the queue. */
  listen(listener: (m: CoapMessage, fromPort: number, size: number) => void): void {
    this.listener = listener;
  }

  /** The next datagram that arrives within `ms`, undefined when none does. */
  next(ms = 2000): Promise<CoapMessage | undefined> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = (m) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(m);
      };
    });
  }

  /** Send and wait for one answer (undefined: none within `ms`). */
  exchange(bytes: Buffer, port: number, ms = 2000): Promise<CoapMessage | undefined> {
    this.send(bytes, port);
    return this.next(ms);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

const opened = closedAfterEach((peer: RawPeer) => peer.close());

/**
 * Call once at the top of a test file: every peer opened by `rawPeer()` is closed after each test. afterEach hooks run
 * in reverse order of registration: call it after `stopHarnessesAfterEach()` (or after the file's own afterEach that
 * stops its gateway) so that the peers close first, before the gateway stops, and before `closeDevicesAfterEach()` to
 * close them after the devices.
 */
export function closePeersAfterEach(): void {
  opened.afterEach();
}

/** A RawPeer that `closePeersAfterEach()` closes after the test. */
export async function rawPeer(): Promise<RawPeer> {
  return opened.add(await RawPeer.open());
}
