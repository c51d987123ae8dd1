// The CoapEndpoint on one node:dgram socket.
//
// Why not the `coap` npm package: measured against libcoap it keys Block1 reassembly by token (libcoap's client
// sends a new token per block, so uploads fail), its memory grew to ~280 MB after 40k requests, and it peaked
// near 5k requests/s. Building on `coap-packet` (its wire codec) + dgram keeps every piece of per-peer state in
// bounded, expiring maps we control, reassembles by peer + resource, and leaves the hot path to a parse, a map
// lookup and one send. The cost is owning RFC 7252/7641/7959 behaviour ourselves; the tests hold it to libcoap.
import { createSocket, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type {
  CoapClientRequest,
  CoapClientResponse,
  CoapEndpoint,
  CoapIncomingRequest,
  CoapObservation,
  CoapOutgoingResponse,
  CoapPeer,
  CoapReachability,
  CoapRequestHandler,
  CoapRouteOptions,
} from '../endpoint.js';
import { UdpBindError } from './bind-error.js';
import { ClientSide } from './client-side.js';
import { CoapZoneError } from './errors.js';
import { InterfaceZones } from './interface-zones.js';
import { type AddressFamilies, hostAddresses, isWildcard } from './local-addresses.js';
import { type CoapRejectKind, decodeMessage, encodeMessage, isRequestCode } from './message.js';
import { ipLiteralLookup, normalizeAddress, peerKey, socketAddress } from './peer.js';
import { ConfirmableSender } from './reliability.js';
import { type NotifyOutcome, ServerSide } from './server-side.js';
import { DEFAULT_TRANSMISSION, exchangeLifetime, maxTransmitWait, type TransmissionParameters } from './timing.js';

export interface UdpCoapEndpointOptions {
  /** Default "::" (dual stack: IPv4 peers are served too). Several: one socket each, on the same port. */
  bindAddress?: string | readonly string[];
  /** Default 5683; 0 picks an ephemeral port. */
  port?: number;
  transmission?: Partial<TransmissionParameters>;
  maxPayloadBytes?: number;
  blockSize?: number;
  dedupEntries?: number;
  /** Block1 uploads in progress (and Block2 bodies being read) kept for all peers; default 256. */
  reassemblyEntries?: number;
  /** The same per peer, within the total; default 8. */
  reassemblyEntriesPerPeer?: number;
  maxObservations?: number;
  separateResponseAfterMs?: number;
  /** Default request deadline for request()/observe() without timeoutMs. */
  requestTimeoutMs?: number;
  /**
   * A datagram that was not served normally: unparseable, or refused by the transport (4.02, 4.05, 4.08, 4.13,
   * 5.05, a rejected response). `reason` describes it; `kind` is a fixed label fit for a metric.
   */
  onDecodeError?: (reason: string, peer: CoapPeer, bytes: Buffer, kind: CoapRejectKind) => void;
  onHandlerError?: (error: unknown, req: CoapIncomingRequest) => void;
  onDatagram?: (direction: 'in' | 'out') => void;
  onSocketError?: (error: Error) => void;
  /** With a wildcard bind: the host's addresses, each served by a socket of its own (local-addresses.ts). */
  localAddresses?: (families: AddressFamilies) => string[];
  /** With a wildcard bind: how often the host's addresses are read again. Default 10 s. */
  addressRefreshMs?: number;
}

interface BoundSocket {
  /** The address it is bound to. */
  address: string;
  socket: Socket;
  /** A udp6 socket: IPv4 peers are written in their mapped form. */
  ipv6: boolean;
  /** Bound to "::": it reaches IPv4 peers too. */
  dualStack: boolean;
}

/** Peers whose socket is remembered when several are bound (the answer must leave by the address asked). */
const MAX_PEER_SOCKETS = 4096;

export class UdpCoapEndpoint implements CoapEndpoint, CoapReachability {
  /** The first bound socket: the only one usually, and the one for multicast and unknown peers. */
  private socket: Socket | undefined;
  private ipv6 = true;
  private sockets: BoundSocket[] = [];
  private readonly peerSockets = new Map<string, BoundSocket>();
  /** A wildcard was asked for: every host address gets a socket too, on the same port (SO_REUSEADDR). */
  private perAddress = false;
  private boundPort = 0;
  private families: AddressFamilies = { v4: false, v6: false };
  private addressTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  /** Host addresses that could not be bound for a reason other than not being usable yet (reported once). */
  private readonly unbindable = new Set<string>();
  private messageId = Math.floor(Math.random() * 0x10000);
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly reliable: ConfirmableSender;
  private readonly zones = new InterfaceZones();
  private readonly server: ServerSide;
  private readonly client: ClientSide;
  private readonly strayListeners: Array<(peer: CoapPeer) => void> = [];
  private readonly transmit = (bytes: Buffer, peer: CoapPeer): void => this.send(bytes, peer);
  private readonly nextMessageId = (): number => {
    this.messageId = (this.messageId + 1) & 0xffff;
    return this.messageId;
  };

  constructor(private readonly options: UdpCoapEndpointOptions = {}) {
    const transmission = { ...DEFAULT_TRANSMISSION, ...options.transmission };
    this.reliable = new ConfirmableSender(transmission, this.transmit);
    this.server = new ServerSide(
      {
        maxPayloadBytes: options.maxPayloadBytes ?? 65_536,
        blockSize: options.blockSize ?? 1024,
        dedupEntries: options.dedupEntries ?? 20_000,
        dedupTtlMs: exchangeLifetime(transmission),
        reassemblyEntries: options.reassemblyEntries ?? 256,
        reassemblyEntriesPerPeer: options.reassemblyEntriesPerPeer ?? 8,
        reassemblyTtlMs: 60_000,
        separateResponseAfterMs: options.separateResponseAfterMs ?? 1000,
      },
      {
        transmit: this.transmit,
        transmitReported: (bytes, peer) => this.sendReported(bytes, peer),
        nextMessageId: this.nextMessageId,
        reliable: this.reliable,
        onHandlerError: (error, req) => options.onHandlerError?.(error, req),
        onReject: (kind, detail, peer, bytes) => options.onDecodeError?.(detail, peer, bytes, kind),
      },
    );
    this.client = new ClientSide({
      transmit: this.transmit,
      transmitMulticast: (bytes, peer) => this.sendMulticast(bytes, peer),
      nextMessageId: this.nextMessageId,
      reliable: this.reliable,
      blockSize: options.blockSize ?? 1024,
      maxPayloadBytes: options.maxPayloadBytes ?? 65_536,
      defaultTimeoutMs: options.requestTimeoutMs ?? maxTransmitWait(transmission),
      maxObservations: options.maxObservations ?? 1024,
      strayResponse: (peer) => {
        for (const listener of this.strayListeners) listener(peer);
      },
    });
  }

  async start(): Promise<void> {
    const addresses = [this.options.bindAddress ?? '::'].flat();
    let port = this.options.port ?? 5683;
    this.perAddress = addresses.some(isWildcard);
    try {
      // Sockets that share a port with SO_REUSEADDR would also share it with another program that sets it: a plain
      // bind first makes a port in use fail as before.
      if (this.perAddress) port = await this.probePort(addresses.find(isWildcard) as string, port);
      for (const address of addresses) {
        this.sockets.push(await this.bindOrFallBack(address, port));
        // Port 0 picks one for the first socket; the others take the same.
        port = this.sockets[0]?.socket.address().port ?? port;
      }
    } catch (error) {
      await this.closeSockets();
      throw error;
    }
    const [first] = this.sockets;
    this.socket = first?.socket;
    this.ipv6 = first?.ipv6 ?? true;
    this.sweepTimer = setInterval(() => this.server.sweep(), 10_000);
    this.sweepTimer.unref();
    if (this.perAddress) {
      this.boundPort = port;
      const wild = this.sockets.filter((s) => isWildcard(s.address));
      this.families = { v4: wild.some((s) => !s.ipv6 || s.dualStack), v6: wild.some((s) => s.ipv6) };
      await this.refreshAddresses();
      this.addressTimer = setInterval(() => {
        this.refreshing ??= this.refreshAddresses().finally(() => {
          this.refreshing = undefined;
        });
      }, this.options.addressRefreshMs ?? 10_000);
      this.addressTimer.unref();
    }
  }

  /** The port a wildcard bind gets (`port`, or an ephemeral one for 0), checked free by a socket without reuse. */
  private async probePort(address: string, port: number): Promise<number> {
    const probe = await this.bindOrFallBack(address, port, { reuse: false, quiet: true });
    const bound = probe.socket.address().port;
    await new Promise<void>((resolve) => probe.socket.close(() => resolve()));
    return bound;
  }

  /** The addresses every socket is bound to, the wildcard's first (for tests and the adapter's status). */
  boundAddresses(): string[] {
    return this.sockets.map((s) => s.address);
  }

  /** Binds the host addresses that have no socket yet and closes those of addresses that went away. */
  private async refreshAddresses(): Promise<void> {
    const asked = new Set([this.options.bindAddress ?? '::'].flat());
    const read = this.options.localAddresses ?? hostAddresses;
    const wanted = new Set(read(this.families).filter((a) => !asked.has(a)));
    for (const bound of [...this.sockets]) {
      if (isWildcard(bound.address) || asked.has(bound.address) || wanted.has(bound.address)) continue;
      this.sockets = this.sockets.filter((s) => s !== bound);
      for (const [key, s] of this.peerSockets) if (s === bound) this.peerSockets.delete(key);
      bound.socket.close();
    }
    const have = new Set(this.sockets.map((s) => s.address));
    for (const address of wanted) {
      if (have.has(address) || !this.socket) continue;
      try {
        this.sockets.push(await this.bind(address, this.boundPort));
      } catch (error) {
        // EADDRNOTAVAIL: an IPv6 address still tentative (duplicate address detection), bound at a later refresh.
        const code = (error as UdpBindError).code;
        if (code === 'EADDRNOTAVAIL' || this.unbindable.has(address)) continue;
        this.unbindable.add(address);
        this.options.onSocketError?.(
          new Error(`cannot bind ${address} port ${this.boundPort} (${code}): answers to it leave by another address`),
        );
      }
    }
  }

  private async bindOrFallBack(
    address: string,
    port: number,
    { reuse = this.perAddress, quiet = false } = {},
  ): Promise<BoundSocket> {
    try {
      return await this.bind(address, port, reuse);
    } catch (error) {
      // A host (or container) without IPv6 cannot bind "::": serve IPv4 rather than nothing.
      const code = (error as UdpBindError).code;
      if (address !== '::' || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw error;
      if (!quiet)
        this.options.onSocketError?.(new Error(`IPv6 unavailable (${code}): CoAP serves IPv4 only on 0.0.0.0`));
      return this.bind('0.0.0.0', port, reuse);
    }
  }

  private async bind(bindAddress: string, port: number, reuse = this.perAddress): Promise<BoundSocket> {
    const ipv6 = !isIPv4(bindAddress);
    const socket = createSocket({
      type: ipv6 ? 'udp6' : 'udp4',
      ipv6Only: false,
      reuseAddr: reuse,
      recvBufferSize: 4 << 20,
      lookup: ipLiteralLookup,
    });
    const bound: BoundSocket = { address: bindAddress, socket, ipv6, dualStack: bindAddress === '::' };
    socket.on('message', (bytes, rinfo) => {
      const peer = { address: normalizeAddress(rinfo.address), port: rinfo.port };
      if (this.sockets.length > 1) this.rememberSocket(peer, bound);
      this.receive(bytes, peer);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: bindAddress, port }, () => {
        socket.off('error', reject);
        resolve();
      });
    }).catch((error: NodeJS.ErrnoException) => {
      socket.close();
      throw new UdpBindError(error, bindAddress, port);
    });
    socket.on('error', (error) => this.options.onSocketError?.(error));
    return bound;
  }

  private rememberSocket(peer: CoapPeer, bound: BoundSocket): void {
    const key = peerKey(peer);
    if (this.peerSockets.get(key) === bound) return;
    if (this.peerSockets.size >= MAX_PEER_SOCKETS)
      this.peerSockets.delete(this.peerSockets.keys().next().value as string);
    this.peerSockets.set(key, bound);
  }

  /** The socket a peer last reached us on, else the first one that can reach its address family. */
  private socketFor(peer: CoapPeer): BoundSocket | undefined {
    const known = this.peerSockets.get(peerKey(peer));
    if (known) return known;
    const v4 = isIPv4(peer.address);
    return this.sockets.find((s) => (v4 ? !s.ipv6 || s.dualStack : s.ipv6)) ?? this.sockets[0];
  }

  private async closeSockets(): Promise<void> {
    const sockets = this.sockets;
    this.sockets = [];
    this.peerSockets.clear();
    await Promise.all(sockets.map(({ socket }) => new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    clearInterval(this.addressTimer);
    await this.refreshing;
    this.flushOutbox();
    this.reliable.cancelAll();
    this.client.clear();
    this.server.clear();
    this.socket = undefined;
    await this.closeSockets();
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.socket?.address().port ?? 0;
  }

  stats(): Record<string, number> {
    return { ...this.server.stats(), ...this.client.stats(), outstanding_con: this.reliable.size };
  }

  route(firstSegment: string, handler: CoapRequestHandler, options?: CoapRouteOptions): void {
    this.server.route(firstSegment, handler, options);
  }

  request(req: CoapClientRequest): Promise<CoapClientResponse> {
    const refused = this.zoneRefusal(req.peer);
    return refused ? Promise.reject(refused) : this.client.request(req);
  }

  observe(req: CoapClientRequest, onNotify: (res: CoapClientResponse) => void): Promise<CoapObservation> {
    const refused = this.zoneRefusal(req.peer);
    return refused ? Promise.reject(refused) : this.client.observe(req, onNotify);
  }

  ping(peer: CoapPeer, signal?: AbortSignal): Promise<boolean> {
    return this.zoneRefusal(peer) ? Promise.resolve(false) : this.client.ping(peer, signal);
  }

  /** A request to a link-local peer whose zone names no interface here would leave by another link: not sent. */
  private zoneRefusal(peer: CoapPeer): CoapZoneError | undefined {
    const problem = this.zones.problem(peer.address);
    return problem === undefined ? undefined : new CoapZoneError(peer, problem);
  }

  /** NON request to a group address (`ff02::fd%eth0`); every answer within windowMs goes to onResponse. */
  multicast(req: CoapClientRequest, windowMs: number, onResponse: (res: CoapClientResponse) => void): Promise<void> {
    // setMulticastInterface would read the unknown name as "the default interface", with no error.
    const refused = this.zoneRefusal(req.peer);
    return refused ? Promise.reject(refused) : this.client.multicast(req, windowMs, onResponse);
  }

  /**
   * Observe notification for a relation a route handler accepted (response carried `observe`); `block2Szx` is the
   * Block2 SZX its registration asked for, if any.
   */
  notify(
    peer: CoapPeer,
    token: Buffer,
    sequence: number,
    res: CoapOutgoingResponse,
    confirmable = true,
    block2Szx?: number,
  ): Promise<NotifyOutcome> {
    return this.server.notify(peer, token, sequence, res, confirmable, block2Szx);
  }

  /** Told of every response on a token nobody waits for (it is still answered RST): who sent it is there. */
  onStrayResponse(listener: (peer: CoapPeer) => void): void {
    this.strayListeners.push(listener);
  }

  /** See ServerSide.endObservation. */
  endObservation(peer: CoapPeer, token: Buffer, code: string, reason: string, maxAge?: number): Promise<boolean> {
    return this.server.endObservation(peer, token, code, reason, maxAge);
  }

  private send(bytes: Buffer, peer: CoapPeer): void {
    const socket = this.socket;
    if (!socket) return;
    this.options.onDatagram?.('out');
    this.outbox.push(bytes, peer);
    if (this.outbox.length === 2) setImmediate(this.flushOutbox);
  }

  /**
   * Sends at once, after what send() queued before it, and resolves to whether the datagram left (the kernel took
   * it): false when the endpoint has no socket (stopped) or the socket refused it (no route from the address it is
   * bound to, say). One request object per datagram: for the few messages whose fate the caller acts on.
   */
  private sendReported(bytes: Buffer, peer: CoapPeer): Promise<boolean> {
    this.flushOutbox();
    const bound = this.socketFor(peer);
    if (!this.socket || !bound) return Promise.resolve(false);
    this.options.onDatagram?.('out');
    return new Promise((resolve) => {
      try {
        bound.socket.send(bytes, peer.port, socketAddress(peer.address, bound.ipv6), (error) => resolve(!error));
      } catch {
        resolve(false); // a socket closed meanwhile throws rather than calling back
      }
    });
  }

  /**
   * Requests to an IPv6 group set the socket's multicast interface and hop limit first: Linux takes the interface
   * from the zone (sin6_scope_id) only for link-local groups, so `ff05::fd%lowpan0` left by the first interface with
   * a multicast route, with hop limit 1; site-local (ff05) and realm-local (ff03, Thread) discovery could neither
   * pick the interface nor cross the border router it is meant for. Both settings are socket-wide, so group sends
   * go one at a time: the next waits for the previous one's callback, in case that one had to wait in the queue.
   */
  private multicastSends = Promise.resolve();
  private sendMulticast(bytes: Buffer, peer: CoapPeer): void {
    if (!peer.address.startsWith('ff')) {
      this.send(bytes, peer);
      return;
    }
    const zone = peer.address.split('%')[1];
    this.multicastSends = this.multicastSends.then(
      () =>
        new Promise<void>((resolve) => {
          const socket = this.sockets.find((s) => s.ipv6)?.socket ?? this.socket;
          if (!socket) return resolve();
          try {
            if (zone) socket.setMulticastInterface(`::%${zone}`);
            // The group's scope bounds how far it travels (RFC 4291 §2.7), the hop limit should not.
            socket.setMulticastTTL(64);
          } catch (error) {
            this.options.onSocketError?.(error as Error);
          }
          this.options.onDatagram?.('out');
          socket.send(bytes, peer.port, peer.address, (error) => {
            if (error) this.options.onSocketError?.(error);
            resolve();
          });
        }),
    );
  }

  /**
   * Datagrams queued by send() during this turn of the event loop (pairs of bytes and peer), sent together once
   * every datagram that arrived in it was handled. Sent one by one as each request was handled, every ACK woke
   * its (by then idle) peer on the other CPU, a wake-up that sendmsg pays for: in bench/coap.ts the ACK's send
   * was 24 % of the gateway's CPU time; in a burst the peer is already awake after the first. 17.8-20.1k instead of
   * 15.1-15.8k CoAP PUTs/s (49-56 instead of 65-69 us of gateway CPU per message).
   */
  private readonly outbox: Array<Buffer | CoapPeer> = [];
  private readonly flushOutbox = (): void => {
    const socket = this.socket;
    const out = this.outbox.splice(0);
    if (!socket) return;
    const several = this.sockets.length > 1;
    for (let i = 0; i < out.length; i += 2) {
      const peer = out[i + 1] as CoapPeer;
      // No per-send callback (it costs a request object per datagram): without one Node reports a failed send
      // nowhere (no 'error' event either), and the datagram is lost as UDP may lose any.
      if (several) {
        const bound = this.socketFor(peer);
        bound?.socket.send(out[i] as Buffer, peer.port, socketAddress(peer.address, bound.ipv6));
      } else socket.send(out[i] as Buffer, peer.port, socketAddress(peer.address, this.ipv6));
    }
  };

  private receive(bytes: Buffer, peer: CoapPeer): void {
    this.options.onDatagram?.('in');
    const decoded = decodeMessage(bytes);
    if (!decoded.ok) {
      this.reject(decoded.kind, decoded.error, peer, bytes);
      return;
    }
    const message = decoded.message;
    if (isRequestCode(message.code) && message.type !== 'ACK' && message.type !== 'RST') {
      void this.server.handle(message, peer, bytes);
      return;
    }
    if (message.unknownCritical.length > 0) {
      // RFC 7252 §5.4.1: a response with an unrecognized critical option is rejected, not used without it.
      this.reject('bad_option', `response with critical option ${message.unknownCritical.join(',')}`, peer, bytes);
      return;
    }
    if (message.reservedBlockSzx !== undefined) {
      this.reject('bad_option', `response with option ${message.reservedBlockSzx} (reserved SZX 7)`, peer, bytes);
      return;
    }
    if (message.type === 'ACK' || message.type === 'RST') {
      this.reliable.settle(peer, message.messageId, message.type === 'ACK' ? 'ack' : 'rst');
      if (message.type === 'ACK' && message.code !== '0.00') this.client.handleResponse(message, peer);
      return;
    }
    if (message.code === '0.00') {
      // CoAP ping (empty CON) is answered with RST; an empty NON is meaningless.
      if (message.type === 'CON')
        this.send(encodeMessage({ type: 'RST', code: '0.00', messageId: message.messageId }), peer);
      return;
    }
    this.client.handleResponse(message, peer);
  }

  /**
   * RFC 7252 §4.2/§4.3: a message we cannot process is rejected, with RST when it is a CON (version 1, type 0);
   * rejecting a NON, ACK or RST is silently ignoring it.
   */
  private reject(kind: CoapRejectKind, reason: string, peer: CoapPeer, bytes: Buffer): void {
    this.options.onDecodeError?.(reason, peer, bytes, kind);
    if (bytes.length >= 4 && (bytes[0]! & 0xf0) === 0x40) {
      this.send(encodeMessage({ type: 'RST', code: '0.00', messageId: bytes.readUInt16BE(2) }), peer);
    }
  }
}
