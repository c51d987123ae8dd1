// The lean MQTT subscriber of bench/coap.ts (--subscriber raw): MQTT 3.1.1, one QoS 0 subscription, PUBLISH frames
// parsed in place. mqtt.js parses each message into an object, emits two events and schedules a tick per packet;
// on a 2-core machine the subscriber shares a CPU with the load generator, so what it costs per message is taken
// from the servers under test. Keep-alive is 0 (no PINGREQ): a benchmark run is one burst.
import { connect, type Socket } from 'node:net';

type OnMessage = (topic: string, payload: Buffer) => void;

export class RawSubscriber {
  #socket: Socket;
  #pending: Buffer | undefined;
  #subscribed: (error?: Error) => void = () => {};

  private constructor(
    socket: Socket,
    private readonly onMessage: OnMessage,
  ) {
    this.#socket = socket;
    socket.on('data', (chunk) => this.#read(chunk));
  }

  static async connect(port: number, topic: string, onMessage: OnMessage): Promise<RawSubscriber> {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const subscriber = new RawSubscriber(socket, onMessage);
    const ready = new Promise<void>((resolve, reject) => {
      subscriber.#subscribed = (error) => (error ? reject(error) : resolve());
      socket.once('close', () => reject(new Error('MQTT connection closed before SUBACK')));
    });
    const clientId = Buffer.from(`bench-${process.pid}`);
    socket.write(
      packet(0x10, [
        Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 0]), // "MQTT", level 4, clean session, keep-alive 0
        lengthPrefixed(clientId),
      ]),
    );
    socket.write(packet(0x82, [Buffer.from([0, 1]), lengthPrefixed(Buffer.from(topic)), Buffer.from([0])]));
    await ready;
    return subscriber;
  }

  end(): Promise<void> {
    return new Promise((resolve) => this.#socket.end(Buffer.from([0xe0, 0]), () => resolve()));
  }

  #read(chunk: Buffer): void {
    let bytes = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      if (bytes.length - offset < 2) break;
      let remaining = 0;
      let at = offset + 1;
      let shift = 0;
      let complete = false;
      while (at < bytes.length && shift <= 21) {
        const byte = bytes[at++] as number;
        remaining |= (byte & 0x7f) << shift;
        shift += 7;
        if ((byte & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || at + remaining > bytes.length) break;
      this.#frame(bytes[offset] as number, bytes, at, at + remaining);
      offset = at + remaining;
    }
    if (offset === bytes.length) this.#pending = undefined;
    else {
      bytes = bytes.subarray(offset);
      this.#pending = bytes;
    }
  }

  #frame(first: number, bytes: Buffer, start: number, end: number): void {
    const type = first >> 4;
    if (type === 3) {
      const topicLength = bytes.readUInt16BE(start);
      const topic = bytes.toString('utf8', start + 2, start + 2 + topicLength);
      const qos = (first >> 1) & 3;
      let payloadStart = start + 2 + topicLength;
      if (qos > 0) {
        // Not expected (the subscription is QoS 0), answered all the same so the server does not resend.
        const packetId = bytes.subarray(payloadStart, payloadStart + 2);
        this.#socket.write(packet(qos === 1 ? 0x40 : 0x50, [packetId]));
        payloadStart += 2;
      }
      this.onMessage(topic, bytes.subarray(payloadStart, end));
    } else if (type === 2) {
      if (bytes[start + 1] !== 0) this.#subscribed(new Error(`CONNACK return code ${bytes[start + 1]}`));
    } else if (type === 9) {
      this.#subscribed(bytes[start + 2] === 0x80 ? new Error('subscription refused') : undefined);
    } else if (type === 6) {
      this.#socket.write(packet(0x70, [bytes.subarray(start, start + 2)])); // PUBREL -> PUBCOMP
    }
  }
}

function lengthPrefixed(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + bytes.length);
  out.writeUInt16BE(bytes.length, 0);
  bytes.copy(out, 2);
  return out;
}

function packet(first: number, parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const length: number[] = [];
  let left = body.length;
  do {
    const byte = left & 0x7f;
    left >>= 7;
    length.push(left > 0 ? byte | 0x80 : byte);
  } while (left > 0);
  return Buffer.concat([Buffer.from([first, ...length]), body]);
}
