// A persistent-session MQTT 3.1.1 client at the packet level, for what mqtt.js would not do: acknowledge only what
// a test says, and stop reading its socket.
import { createConnection, type Socket } from 'node:net';
import { generate, type IPublishPacket, type Packet, parser } from 'mqtt-packet';

/** A persistent-session subscriber at the packet level: it acknowledges only what it is told to. */
export class RawSession {
  readonly publishes: IPublishPacket[] = [];
  /** Message ids of the PUBRELs received. */
  readonly pubrels: number[] = [];
  /** The broker closed the connection (or the test did). */
  closed = false;
  #connack: Packet | undefined;
  /** SUBACKs and PINGRESPs received. */
  #answers = 0;
  readonly #waiters = new Set<() => void>();
  readonly #parser = parser({ protocolVersion: 4 });

  private constructor(
    readonly socket: Socket,
    readonly clientId: string,
  ) {
    this.#parser.on('packet', (packet: Packet) => {
      if (packet.cmd === 'connack') this.#connack = packet;
      if (packet.cmd === 'publish') this.publishes.push(packet);
      if (packet.cmd === 'pubrel') this.pubrels.push(packet.messageId ?? -1);
      if (packet.cmd === 'pingresp' || packet.cmd === 'suback') this.#answers++;
      for (const w of this.#waiters) w();
    });
    socket.on('data', (d) => this.#parser.parse(d));
    socket.on('close', () => {
      this.closed = true;
      for (const w of this.#waiters) w();
    });
  }

  /** Connects with clean session 0 and resolves at the CONNACK; `pauseAtConnack` then stops reading the socket. */
  static async connect(port: number, clientId: string, pauseAtConnack = false): Promise<RawSession> {
    const socket = createConnection({ host: '127.0.0.1', port });
    const session = new RawSession(socket, clientId);
    socket.once('connect', () =>
      socket.write(
        generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId, clean: false, keepalive: 60 }),
      ),
    );
    await session.until('CONNACK', () => session.#connack !== undefined);
    if (pauseAtConnack) socket.pause();
    return session;
  }

  /** Resolves once `done()` holds; rejects when `ms` pass first or the connection closes. */
  until(what: string, done: () => boolean, ms = 15_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        this.#waiters.delete(check);
        clearTimeout(timer);
        reject(new Error(`${this.clientId}: no ${what}, ${why} (${this.publishes.length} PUBLISH received)`));
      };
      const check = () => {
        if (!done()) {
          if (this.closed) fail('the connection closed');
          return;
        }
        this.#waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => fail(`not within ${ms} ms`), ms);
      this.#waiters.add(check);
      check();
    });
  }

  async subscribe(subscriptions: Array<{ topic: string; qos: 0 | 1 | 2 }>): Promise<void> {
    const before = this.#answers;
    this.socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions }));
    await this.until('SUBACK', () => this.#answers > before);
  }

  /**
   * Acknowledges the given packets: PUBACK for QoS 1; PUBREC for QoS 2, then PUBCOMP once its PUBREL came. Then waits
   * for a PINGRESP: the broker has read the acknowledgements.
   */
  async acknowledge(packets: IPublishPacket[]): Promise<void> {
    const before = this.#answers;
    for (const p of packets.filter((q) => q.qos === 1))
      this.socket.write(generate({ cmd: 'puback', messageId: p.messageId as number }));
    const exactlyOnce = packets.filter((q) => q.qos === 2);
    await this.pubrec(exactlyOnce);
    for (const p of exactlyOnce) this.socket.write(generate({ cmd: 'pubcomp', messageId: p.messageId as number }));
    this.socket.write(generate({ cmd: 'pingreq' }));
    await this.until('PINGRESP', () => this.#answers > before);
  }

  /** Sends PUBREC for the given QoS 2 packets and waits for their PUBRELs, leaving the PUBCOMPs unsent. */
  async pubrec(packets: IPublishPacket[]): Promise<void> {
    const ids = packets.map((p) => p.messageId as number);
    for (const messageId of ids) this.socket.write(generate({ cmd: 'pubrec', messageId }));
    await this.until('PUBRELs', () => ids.every((id) => this.pubrels.includes(id)));
  }

  /** Sends DISCONNECT and resolves once the broker closed the connection: it has let go of the session's client. */
  async leave(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.socket.once('close', () => resolve()));
    this.socket.end(generate({ cmd: 'disconnect' }));
    await closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
