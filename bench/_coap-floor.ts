// The floor of bench/coap.ts: the least a Node process can do and still turn a CoAP PUT into an MQTT message. It
// answers each confirmable request with a bare 2.04 ACK and writes the payload, untouched, as a QoS 0 PUBLISH to
// every subscribed connection (one write per event-loop turn). No JSON, no state, no retained store, no dedup, no
// broker: it speaks only as much MQTT as the benchmark's subscriber needs. Its rate is the ceiling any Node gateway
// can reach on the machine with the same load generator, which is what the "10x Ponte" target is weighed against.
//   node _coap-floor.js <coap port> <mqtt port>   (bench/coap.ts compiles and starts it with --floor)
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';

const coapPort = Number(process.argv[2]);
const mqttPort = Number(process.argv[3]);
const TOPIC_PREFIX = 'zephyr2mqtt/';

const subscribers = new Set<Socket>();
let pending: Buffer[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  const batch = Buffer.concat(pending);
  pending = [];
  for (const socket of subscribers) socket.write(batch);
}

function publish(topic: string, payload: Buffer): void {
  if (subscribers.size === 0) return;
  const topicLength = Buffer.byteLength(topic);
  const remaining = 2 + topicLength + payload.length;
  const lengthBytes = remaining < 128 ? 1 : remaining < 16384 ? 2 : 3;
  const packet = Buffer.allocUnsafe(1 + lengthBytes + remaining);
  packet[0] = 0x30;
  let offset = 1;
  for (let left = remaining; ; ) {
    const byte = left & 0x7f;
    left >>= 7;
    packet[offset++] = left > 0 ? byte | 0x80 : byte;
    if (left === 0) break;
  }
  packet.writeUInt16BE(topicLength, offset);
  packet.write(topic, offset + 2);
  payload.copy(packet, offset + 2 + topicLength);
  pending.push(packet);
  if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

/** The Uri-Path segments and the payload of a CoAP message, or undefined when it is not one. */
function parseCoap(bytes: Buffer): { path: string[]; payload: Buffer } | undefined {
  let offset = 4 + (bytes[0]! & 0x0f);
  let option = 0;
  const path: string[] = [];
  while (offset < bytes.length && bytes[offset] !== 0xff) {
    let delta = bytes[offset]! >> 4;
    let length = bytes[offset]! & 0x0f;
    offset++;
    if (delta === 13) delta = 13 + bytes[offset++]!;
    else if (delta === 14) {
      delta = 269 + bytes.readUInt16BE(offset);
      offset += 2;
    }
    if (length === 13) length = 13 + bytes[offset++]!;
    else if (length === 14) {
      length = 269 + bytes.readUInt16BE(offset);
      offset += 2;
    }
    if (delta === 15 || length === 15 || offset + length > bytes.length) return undefined;
    option += delta;
    if (option === 11) path.push(bytes.toString('utf8', offset, offset + length));
    offset += length;
  }
  return { path, payload: bytes.subarray(offset + 1) };
}

const udp = createSocket('udp4');
udp.on('message', (bytes, rinfo) => {
  if (bytes.length < 4 || (bytes[0]! & 0x30) !== 0) return; // confirmable requests only
  const tokenLength = bytes[0]! & 0x0f;
  const ack = Buffer.allocUnsafe(4 + tokenLength);
  ack[0] = 0x60 | tokenLength;
  ack[1] = 0x44; // 2.04 Changed
  bytes.copy(ack, 2, 2, 4 + tokenLength);
  udp.send(ack, rinfo.port, rinfo.address);
  const request = parseCoap(bytes);
  if (request && request.path[0] === 'ps' && request.path[1]) publish(TOPIC_PREFIX + request.path[1], request.payload);
});
udp.bind(coapPort, '127.0.0.1');

/** Just enough of an MQTT server for one subscriber: CONNACK, SUBACK (granting QoS 0), PINGRESP. */
const mqtt = createServer((socket) => {
  socket.setNoDelay(true); // as the gateway's broker: a turn's batch must not wait for the subscriber's delayed ACK
  let buffered = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      let remaining = 0;
      let multiplier = 1;
      let offset = 1;
      for (; offset < 5 && offset < buffered.length; offset++) {
        remaining += (buffered[offset]! & 0x7f) * multiplier;
        multiplier *= 128;
        if ((buffered[offset]! & 0x80) === 0) break;
      }
      if (offset >= buffered.length || buffered.length < offset + 1 + remaining) return;
      const type = buffered[0]! >> 4;
      const body = buffered.subarray(offset + 1, offset + 1 + remaining);
      buffered = buffered.subarray(offset + 1 + remaining);
      if (type === 1) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00]));
      else if (type === 8) {
        socket.write(Buffer.from([0x90, 0x03, body[0]!, body[1]!, 0x00]));
        subscribers.add(socket);
      } else if (type === 12) socket.write(Buffer.from([0xd0, 0x00]));
      else if (type === 14) socket.end();
    }
  });
  socket.on('close', () => subscribers.delete(socket));
  socket.on('error', () => subscribers.delete(socket));
});
mqtt.listen(mqttPort, '127.0.0.1', () => console.log('FLOOR READY'));
process.on('SIGTERM', () => process.exit(0));
