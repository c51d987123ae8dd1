// The img_mgmt simulator (test/adapters/serial/img-mgmt-sim.ts) behind Zephyr's SMP UDP transport (smp_udp.c): one
// SMP packet per datagram on the device's port, the answer sent from that port to the request's source. A datagram
// larger than the device's buffer is dropped unanswered: Zephyr's recvfrom into the net_buf truncates it and the SMP
// layer refuses the short packet.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { answerPacket, type ImgMgmtDevice } from '../../adapters/serial/img-mgmt-sim.js';

export class ImgMgmtUdpDevice {
  /** Sizes of every datagram received. */
  readonly datagramSizes: number[] = [];
  /** Sequence numbers of the SMP requests received, lost ones included, in order (a resend repeats one). */
  readonly sequences: number[] = [];
  /** Datagrams dropped because they did not fit the device's buffer. */
  oversized = 0;
  /** This many next requests are lost on the way (not seen by the device). */
  loseNextRequests = 0;
  /** Where the last request came from: the gateway's SMP socket. */
  lastPeer: RemoteInfo | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly device: ImgMgmtDevice,
  ) {
    socket.on('message', (msg, from) => this.#onDatagram(msg, from));
  }

  static async start(device: ImgMgmtDevice, address = '::1', port = 0): Promise<ImgMgmtUdpDevice> {
    const socket = createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new ImgMgmtUdpDevice(socket, device);
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends raw bytes from the device's SMP port to the gateway's SMP socket (or to `to`). */
  send(bytes: Uint8Array, to: { address: string; port: number } | undefined = this.lastPeer): Promise<void> {
    if (!to) throw new Error('no request received yet: the gateway SMP socket is unknown');
    return new Promise((resolve, reject) =>
      this.socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  #onDatagram(datagram: Buffer, from: RemoteInfo): void {
    this.datagramSizes.push(datagram.length);
    this.lastPeer = from;
    const msg = decodeSmpMessage(datagram);
    if (msg.ok) this.sequences.push(msg.value.header.seq);
    if (this.loseNextRequests > 0) {
      this.loseNextRequests--;
      return;
    }
    if (datagram.length > this.device.bufSize) {
      this.oversized++;
      return;
    }
    if (!msg.ok) return;
    void answerPacket(this.device, msg.value).then((packet) => {
      if (packet) void this.send(packet, from).catch(() => undefined);
    });
  }
}
