// SMP (mcumgr) over UDP to one CoAP device (Zephyr's CONFIG_MCUMGR_TRANSPORT_UDP): each datagram carries one raw
// SMP packet (no framing, no CRC) to the device's SMP port, and the device answers from that port to the port the
// request came from. A socket of its own rather than the CoAP endpoint's, whose every datagram is parsed as CoAP;
// it opens at the first request (most devices never get one) and closes with the transport.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import { SmpClient } from '../common/smp/client.js';
import { feedSmpPacket, type SmpPacketEvents } from '../common/smp/packet-events.js';
import type { CoapSmpSettings } from './config.js';
import { addressMatcher } from './identity.js';
import { InterfaceZones } from './transport/interface-zones.js';
import { formatPeer, ipLiteralLookup } from './transport/peer.js';

export interface SmpUdpEvents extends SmpPacketEvents {
  /** A datagram from another address or port than the device's SMP server: not the device's, ignored. */
  stray(from: string): void;
  socketError(error: Error): void;
}

export class SmpUdpTransport {
  readonly client: SmpClient;
  readonly #fromDevice: (address: string) => boolean;
  readonly #zones = new InterfaceZones();
  #socket: Promise<Socket> | undefined;
  #closed = false;

  constructor(
    readonly deviceId: string,
    readonly address: string,
    private readonly settings: CoapSmpSettings,
    private readonly events: SmpUdpEvents,
  ) {
    this.#fromDevice = addressMatcher(address);
    this.client = new SmpClient({
      send: (packet) => this.#send(packet),
      timeoutMs: settings.timeout_ms,
      retries: settings.retries,
      version: settings.version,
      maxPacketSize: settings.max_packet,
    });
  }

  /** Fails the request in flight and every later one, and closes the socket. */
  close(why: string): void {
    this.#closed = true;
    this.client.close(`device "${this.deviceId}": ${why}`);
    const socket = this.#socket;
    this.#socket = undefined;
    void socket?.then((s) => s.close()).catch(() => undefined);
  }

  async #send(packet: Uint8Array): Promise<void> {
    const problem = this.#zones.problem(this.address);
    if (problem !== undefined) {
      throw new Error(
        `SMP request to ${formatPeer({ address: this.address, port: this.settings.port })} not sent: ${problem}`,
      );
    }
    const socket = await this.#open();
    await new Promise<void>((resolve, reject) => {
      socket.send(packet, this.settings.port, this.address, (err) => (err ? reject(err) : resolve()));
    });
  }

  #open(): Promise<Socket> {
    if (this.#closed) return Promise.reject(new Error('SMP transport closed'));
    this.#socket ??= bindEphemeral(this.address, {
      message: (msg, from) => this.#receive(msg, from),
      error: (err) => this.events.socketError(err),
    }).then(
      (socket) => {
        // Closed while binding: close() found no socket to close yet.
        if (!this.#closed) return socket;
        socket.close();
        throw new Error('SMP transport closed');
      },
      (err: unknown) => {
        // The next request tries again (an interface that was down may be up by then).
        this.#socket = undefined;
        throw err;
      },
    );
    return this.#socket;
  }

  #receive(datagram: Buffer, from: RemoteInfo): void {
    if (from.port !== this.settings.port || !this.#fromDevice(from.address)) {
      this.events.stray(formatPeer(from));
      return;
    }
    feedSmpPacket(this.client, datagram, this.events);
  }
}

interface SocketListeners {
  message(msg: Buffer, from: RemoteInfo): void;
  error(err: Error): void;
}

/** A UDP socket of the device address's family on an ephemeral port of every interface. */
function bindEphemeral(address: string, on: SocketListeners): Promise<Socket> {
  const socket = createSocket({ type: isIPv4(address) ? 'udp4' : 'udp6', lookup: ipLiteralLookup });
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void => {
      socket.close();
      reject(new Error(`cannot open a UDP socket for SMP: ${err.message}`));
    };
    socket.once('error', failed);
    socket.bind(0, () => {
      socket.off('error', failed);
      socket.on('error', on.error);
      socket.on('message', on.message);
      resolve(socket);
    });
  });
}
