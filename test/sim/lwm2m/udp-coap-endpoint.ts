// A minimal CoapEndpoint over a real UDP socket (piggy-backed responses, no retransmission, no block-wise), so the
// LwM2M server can be tested and benchmarked on the wire before and beside the CoAP adapter's own transport.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { generate, type NamedOption, type ParsedPacket, parse } from 'coap-packet';
import type {
  CoapClientRequest,
  CoapClientResponse,
  CoapEndpoint,
  CoapIncomingRequest,
  CoapMethod,
  CoapObservation,
  CoapRequestHandler,
} from '../../../adapters/coap/endpoint.js';
import { METHOD_CODES, newToken, options, uintOf, uintOption } from './coap-wire.js';

interface Waiter {
  resolve: (res: CoapClientResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  onNotify?: (res: CoapClientResponse) => void;
  first?: boolean;
}

export class UdpCoapEndpoint implements CoapEndpoint {
  readonly #routes = new Map<string, CoapRequestHandler>();
  readonly #waiting = new Map<string, Waiter>();
  #socket: Socket | undefined;
  #mid = Math.floor(Math.random() * 0xffff);
  /** Datagrams that were not CoAP. */
  badPackets = 0;

  async listen(host = '127.0.0.1'): Promise<{ address: string; port: number }> {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    await new Promise<void>((resolve) => socket.bind(0, host, resolve));
    const a = socket.address();
    return { address: a.address, port: a.port };
  }

  async close(): Promise<void> {
    for (const w of this.#waiting.values()) {
      clearTimeout(w.timer);
      w.reject(new Error('endpoint closed'));
    }
    this.#waiting.clear();
    const s = this.#socket;
    this.#socket = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  route(firstSegment: string, handler: CoapRequestHandler): void {
    this.#routes.set(firstSegment, handler);
  }

  request(req: CoapClientRequest): Promise<CoapClientResponse> {
    return new Promise((resolve, reject) => this.#send(req, { resolve, reject }));
  }

  observe(req: CoapClientRequest, onNotify: (res: CoapClientResponse) => void): Promise<CoapObservation> {
    return new Promise((resolve, reject) => {
      const token = this.#send(
        req,
        {
          resolve: (first) =>
            resolve({
              first,
              cancel: async () => {
                this.#waiting.delete(token);
                await this.request({ ...req, query: req.query ?? [], observe: 1 } as CoapClientRequest).catch(() => {});
              },
            }),
          reject,
          onNotify,
        },
        0,
      );
    });
  }

  #send(req: CoapClientRequest & { observe?: number }, w: Omit<Waiter, 'timer'>, observe?: number): string {
    const token = newToken();
    const key = token.toString('hex');
    const opts: NamedOption[] = [];
    const obs = observe ?? req.observe;
    if (obs !== undefined) opts.push({ name: 'Observe', value: uintOption(obs) });
    for (const seg of req.path) opts.push({ name: 'Uri-Path', value: Buffer.from(seg) });
    if (req.contentFormat !== undefined) opts.push({ name: 'Content-Format', value: uintOption(req.contentFormat) });
    for (const q of req.query ?? []) opts.push({ name: 'Uri-Query', value: Buffer.from(q) });
    if (req.accept !== undefined) opts.push({ name: 'Accept', value: uintOption(req.accept) });
    const payload = req.payload === undefined ? Buffer.alloc(0) : Buffer.from(req.payload);
    const timer = setTimeout(() => {
      this.#waiting.delete(key);
      w.reject(new Error(`CoAP ${req.method} /${req.path.join('/')} timed out`));
    }, req.timeoutMs ?? 5000);
    this.#waiting.set(key, { ...w, timer, first: true });
    const packet = generate({
      code: req.method,
      confirmable: req.confirmable ?? true,
      messageId: this.#nextMid(),
      token,
      options: opts,
      payload,
    });
    this.#socket?.send(packet, req.peer.port, req.peer.address);
    return key;
  }

  #nextMid(): number {
    this.#mid = (this.#mid + 1) & 0xffff;
    return this.#mid;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let packet: ParsedPacket;
    try {
      packet = parse(msg);
    } catch {
      this.badPackets++;
      return;
    }
    const source = { address: rinfo.address, port: rinfo.port };
    const method = METHOD_CODES[packet.code];
    if (method) {
      void this.#serve(packet, method as CoapMethod, source);
      return;
    }
    if (packet.code === '0.00') return;
    if (packet.confirmable) this.#reply(source, { code: '0.00', ack: true, messageId: packet.messageId });
    const key = packet.token.toString('hex');
    const w = this.#waiting.get(key);
    if (!w) {
      if (packet.confirmable) this.#reply(source, { code: '0.00', reset: true, messageId: packet.messageId });
      return;
    }
    const res: CoapClientResponse = {
      code: packet.code,
      contentFormat: uintOf(packet, 'Content-Format'),
      observe: uintOf(packet, 'Observe'),
      payload: packet.payload,
      source,
    };
    if (w.first) {
      clearTimeout(w.timer);
      w.first = false;
      if (!w.onNotify || res.observe === undefined) this.#waiting.delete(key);
      w.resolve(res);
    } else {
      w.onNotify?.(res);
    }
  }

  async #serve(packet: ParsedPacket, method: CoapMethod, source: { address: string; port: number }): Promise<void> {
    const path = options(packet, 'Uri-Path');
    const handler = this.#routes.get(path[0] ?? '');
    const req: CoapIncomingRequest = {
      method,
      confirmable: packet.confirmable,
      path,
      query: options(packet, 'Uri-Query'),
      contentFormat: uintOf(packet, 'Content-Format'),
      accept: uintOf(packet, 'Accept'),
      observe: uintOf(packet, 'Observe'),
      payload: packet.payload,
      token: packet.token,
      source,
    };
    let res: { code: string; contentFormat?: number; payload?: Buffer | string; locationPath?: string[] };
    try {
      res = handler ? await handler(req) : { code: '4.04' };
    } catch {
      res = { code: '5.00' };
    }
    const opts: NamedOption[] = [];
    for (const seg of res.locationPath ?? []) opts.push({ name: 'Location-Path', value: Buffer.from(seg) });
    if (res.contentFormat !== undefined) opts.push({ name: 'Content-Format', value: uintOption(res.contentFormat) });
    this.#reply(source, {
      code: res.code,
      ack: packet.confirmable,
      confirmable: false,
      messageId: packet.confirmable ? packet.messageId : this.#nextMid(),
      token: packet.token,
      options: opts,
      payload: res.payload === undefined ? Buffer.alloc(0) : Buffer.from(res.payload),
    });
  }

  #reply(to: { address: string; port: number }, packet: Parameters<typeof generate>[0]): void {
    this.#socket?.send(generate(packet), to.port, to.address);
  }
}
