// The CoAP load generator of bench/coap.ts: confirmable PUTs with a fixed number in flight, as lean as a Node
// process can send them, so that on a 2-core machine the servers under test get the CPU rather than the client.
// The gateway's own CoapEndpoint (a promise, a retransmission timer and a full decode per request) cost the
// client as much CPU per message as the server it measured. Here a request is a template with its message id,
// token and payload patched in; an ACK is matched by its message id alone; one timer sweeps for retransmissions.
import { createSocket, type Socket } from 'node:dgram';
import { encodeMessage } from '../adapters/coap/transport/message.js';
import { ipLiteralLookup } from '../adapters/coap/transport/peer.js';

const TOKEN_BYTES = 4;
const RETRANSMIT_AFTER_MS = 2000;
const MAX_RETRANSMITS = 4;
/** With waitForDelivery: how long a slot waits for the MQTT delivery of its request before it goes on. */
const DELIVERY_TIMEOUT_MS = 10_000;
const SWEEP_MS = 250;
/** Byte 0 of a piggybacked ACK with our token length. */
const ACK_FIRST_BYTE = 0x60 | TOKEN_BYTES;

export interface LoadEvents {
  /** Called just before request `seq` is first sent. */
  sending(seq: number): void;
  /** Its ACK arrived (`ok`: a 2.xx code), or it was given up after the retransmissions. */
  answered(seq: number, ok: boolean): void;
}

interface Slot {
  seq: number;
  messageId: number;
  datagram: Buffer;
  sentAt: number;
  retransmits: number;
  acked: boolean;
  delivered: boolean;
  idle: boolean;
}

export class CoapLoad {
  #socket: Socket | undefined;
  #slots: Slot[] = [];
  /** Waiting slots by message id (16 bits) and, with waitForDelivery, by sequence number. */
  readonly #byMessageId = new Array<Slot | undefined>(65536);
  readonly #bySeq = new Map<number, Slot>();
  #messageId = 0;
  #prefix = Buffer.alloc(0);
  #next = 0;
  #total = 0;
  #waitForDelivery = false;
  #sweeper: NodeJS.Timeout | undefined;
  #finished: () => void = () => {};

  constructor(
    private readonly port: number,
    private readonly path: readonly string[],
    private readonly payloadOf: (seq: number) => string,
    private readonly events: LoadEvents,
    private readonly address = '127.0.0.1',
  ) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', lookup: ipLiteralLookup, recvBufferSize: 4 << 20 });
    socket.on('message', (bytes) => this.#onDatagram(bytes));
    await new Promise<void>((resolve) => socket.bind(0, this.address, resolve));
    this.#socket = socket;
    // Everything before the payload: header, a token placeholder, Uri-Path, Content-Format (JSON), the marker.
    const head = encodeMessage({
      type: 'CON',
      code: '0.03',
      messageId: 0,
      token: Buffer.alloc(TOKEN_BYTES),
      path: this.path,
      contentFormat: 50,
    });
    this.#prefix = Buffer.concat([head, Buffer.from([0xff])]);
  }

  /** Sends `total` requests, `inflight` at a time. A request is done at its ACK, or with `waitForDelivery` once
   * delivered() was also called for it (the window then spans the whole path to the MQTT subscriber). */
  run(total: number, inflight: number, waitForDelivery = false): Promise<void> {
    this.#total = total;
    this.#next = 0;
    this.#waitForDelivery = waitForDelivery;
    this.#slots = Array.from({ length: inflight }, () => ({
      seq: -1,
      messageId: 0,
      datagram: Buffer.alloc(0),
      sentAt: 0,
      retransmits: 0,
      acked: false,
      delivered: false,
      idle: true,
    }));
    const done = new Promise<void>((resolve) => {
      this.#finished = resolve;
    });
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    for (const slot of this.#slots) this.#sendNext(slot);
    this.#checkFinished();
    return done;
  }

  /** The MQTT subscriber saw request `seq` (used with waitForDelivery). */
  delivered(seq: number): void {
    const slot = this.#bySeq.get(seq);
    if (!slot) return;
    slot.delivered = true;
    this.#maybeDone(slot);
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweeper);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  #sendNext(slot: Slot): void {
    if (this.#next >= this.#total) {
      slot.idle = true;
      return;
    }
    const seq = this.#next++;
    this.#messageId = (this.#messageId + 1) & 0xffff;
    const payload = Buffer.from(this.payloadOf(seq));
    const datagram = Buffer.allocUnsafe(this.#prefix.length + payload.length);
    this.#prefix.copy(datagram);
    datagram.writeUInt16BE(this.#messageId, 2);
    datagram.writeUInt32BE(seq, 4); // the token
    payload.copy(datagram, this.#prefix.length);
    slot.seq = seq;
    slot.messageId = this.#messageId;
    slot.datagram = datagram;
    slot.retransmits = 0;
    slot.acked = false;
    slot.delivered = !this.#waitForDelivery;
    slot.idle = false;
    this.#byMessageId[this.#messageId] = slot;
    if (this.#waitForDelivery) this.#bySeq.set(seq, slot);
    this.events.sending(seq);
    slot.sentAt = performance.now();
    this.#socket?.send(datagram, this.port, this.address);
  }

  #onDatagram(bytes: Buffer): void {
    if (bytes.length < 4 || bytes[0] !== ACK_FIRST_BYTE) return;
    const slot = this.#byMessageId[bytes.readUInt16BE(2)];
    if (!slot || slot.acked) return; // the ACK of a request already given up, or a duplicate
    this.#acked(slot, bytes[1]! >> 5 === 2);
  }

  #acked(slot: Slot, ok: boolean): void {
    slot.acked = true;
    slot.sentAt = performance.now(); // from here on: the delivery timeout
    this.#byMessageId[slot.messageId] = undefined;
    this.events.answered(slot.seq, ok);
    if (!ok) slot.delivered = true; // nothing will be delivered
    this.#maybeDone(slot);
  }

  #maybeDone(slot: Slot): void {
    if (!slot.acked || !slot.delivered || slot.idle) return;
    this.#bySeq.delete(slot.seq);
    this.#sendNext(slot);
    this.#checkFinished();
  }

  #checkFinished(): void {
    if (this.#next >= this.#total && this.#slots.every((s) => s.idle)) {
      clearInterval(this.#sweeper);
      this.#finished();
    }
  }

  /** RFC 7252 would back off exponentially; a benchmark only needs a lost datagram not to stall its slot. */
  #sweep(): void {
    const now = performance.now();
    for (const slot of this.#slots) {
      if (slot.idle) continue;
      if (slot.acked) {
        if (now - slot.sentAt >= DELIVERY_TIMEOUT_MS) {
          slot.delivered = true;
          this.#maybeDone(slot);
        }
        continue;
      }
      if (now - slot.sentAt < RETRANSMIT_AFTER_MS) continue;
      if (slot.retransmits >= MAX_RETRANSMITS) {
        this.#acked(slot, false);
        continue;
      }
      slot.retransmits++;
      slot.sentAt = now;
      this.#socket?.send(slot.datagram, this.port, this.address);
    }
  }
}
