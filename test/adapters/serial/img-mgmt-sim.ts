// A simulated Zephyr device that implements img_mgmt upload the way Zephyr's img_mgmt.c does: the first chunk
// (off 0) carries len and an optional sha and starts an upload (erasing the slot), or resumes one with the same sha;
// a chunk at another offset than the expected one is answered with the expected offset, and one with no upload in
// progress with off 0. The upload state is forgotten after the last chunk and after an error. The bytes are stored
// in a "slot 1"; a new upload is refused (rc 6) while slot 1 is pending test or the running image is unconfirmed.
// It also answers mcumgr_params, image state read/write and reset, and can inject faults. `ImgMgmtDevice` answers
// decoded requests (in-process tests); `ImgMgmtPtyDevice` puts it on the far end of a pty with real serial frames
// and, like Zephyr's serial transport, drops a packet that does not fit its buffer with the framing and a frame that
// arrives while its two line buffers are taken.
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { MCUBOOT_IMAGE_MAGIC, parseMcubootImage } from '../../../adapters/common/smp/mcuboot-image.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import {
  encodeSerialFrames,
  isContinuationFrame,
  isFirstFrame,
  SERIAL_FRAMING_OVERHEAD,
  SmpSerialAssembler,
} from '../../../adapters/common/smp/serial-frame.js';
import { LineSplitter } from '../../../adapters/serial/line-splitter.js';
import { LineBuffers, ZEPHYR_LINE_BUFFERS } from '../../sim/serial/line-buffers.js';

export const RUNNING_HASH = Buffer.alloc(32, 0xaa);
/** img_mgmt's v1 return codes (img_mgmt_translate_error_code). */
const RC = { unknown: 1, invalid: 3, badState: 6, notSupported: 8 } as const;
const IMAGE_HEADER_SIZE = 32;

export interface ImgMgmtFaults {
  /** mcumgr_params answers rc 8 (not supported) instead of its buffer size. */
  noParams?: boolean;
  /** When a chunk at or past this offset arrives, drop it once and ask for an earlier offset instead. */
  rewindOnceAt?: number;
  /** Answer the chunk at or past this offset with this v1 rc. */
  failAt?: { offset: number; rc: number };
  /** Answer image state writes with this v1 rc. */
  stateWriteRc?: number;
  /** Hold every upload answer until `release()` is called (to catch an upload mid-way). */
  holdUpload?: boolean;
  /** Milliseconds the slot erase takes before the first chunk of a new upload is answered. */
  eraseMs?: number;
  /** Lose the answer to the last chunk once (the upload is complete on the device). */
  loseLastChunkAnswerOnce?: boolean;
  /** Never answer a reset (it happens before the answer gets out). */
  loseResetAnswer?: boolean;
}

type Body = { [key: string]: CborValue };

export class ImgMgmtDevice {
  /** mcumgr_params' buf_size (CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE). */
  bufSize = 256;
  readonly requests: SmpMessage[] = [];
  readonly slot1 = Buffer.alloc(1 << 20);
  /** Upload state, as img_mgmt keeps it between requests; undefined when no upload is in progress. */
  upload: { len: number; off: number; sha: Buffer } | undefined;
  /** Bytes written to slot 1 since its last erase; `slotComplete` once an upload finished there. */
  slotBytes = 0;
  slotComplete = false;
  testHash: Buffer | undefined;
  runningHash: Buffer = RUNNING_HASH;
  /** False after a test boot until the running image is confirmed (slot 1 then holds the image to revert to). */
  runningConfirmed = true;
  resets = 0;
  /** Answers the device never sent (lost on the line). */
  lostAnswers = 0;
  readonly #held: (() => void)[] = [];
  #uploadAnswers = 0;
  #waiters: { n: number; resolve(): void }[] = [];

  constructor(public faults: ImgMgmtFaults = {}) {}

  /** The bytes stored so far. */
  stored(): Buffer {
    return this.slot1.subarray(0, this.slotBytes);
  }

  uploadRequests(): SmpMessage[] {
    return this.requests.filter((r) => r.header.group === 1 && r.header.id === 1);
  }

  /** Resolves once `n` upload chunks were handled (answered or held). */
  uploadChunksHandled(n: number): Promise<void> {
    if (this.#uploadAnswers >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  /** Sends the held upload answers and stops holding. */
  release(): void {
    this.faults.holdUpload = false;
    for (const send of this.#held.splice(0)) send();
  }

  /** The response body for one request, or undefined when the answer is lost; held upload answers wait for `release()`. */
  async answer(req: SmpMessage): Promise<Body | undefined> {
    this.requests.push(req);
    const { group, id } = req.header;
    if (group === 0 && id === 6) {
      return this.faults.noParams ? { rc: RC.notSupported } : { buf_size: this.bufSize, buf_count: 4 };
    }
    if (group === 0 && id === 5) {
      this.resets++;
      return this.#lose(this.faults.loseResetAnswer === true, {});
    }
    if (group === 1 && id === 0) return req.header.op === 0 ? { images: this.#images() } : this.#stateWrite(req.body);
    if (group === 1 && id === 1) {
      const { body, last } = await this.#uploadChunk(req.body);
      this.#uploadAnswers++;
      for (const w of this.#waiters.filter((w) => this.#uploadAnswers >= w.n)) w.resolve();
      this.#waiters = this.#waiters.filter((w) => this.#uploadAnswers < w.n);
      if (last && this.faults.loseLastChunkAnswerOnce) {
        this.faults.loseLastChunkAnswerOnce = false;
        return this.#lose(true, body);
      }
      if (!this.faults.holdUpload) return body;
      return new Promise((resolve) => this.#held.push(() => resolve(body)));
    }
    return { rc: RC.notSupported };
  }

  #lose(lost: boolean, body: Body): Body | undefined {
    if (!lost) return body;
    this.lostAnswers++;
    return undefined;
  }

  /** img_mgmt_upload: `last` is set when this chunk completed the image. */
  async #uploadChunk(body: Body): Promise<{ body: Body; last: boolean }> {
    const fail = (rc: number) => {
      this.upload = undefined;
      return { body: { rc }, last: false };
    };
    const { off, data, len, sha } = body;
    if (typeof off !== 'number' || !(data instanceof Uint8Array)) return fail(RC.invalid);
    if (off === 0) {
      if (typeof len !== 'number') return fail(RC.invalid);
      if (data.length < IMAGE_HEADER_SIZE) return fail(RC.invalid);
      if (Buffer.from(data).readUInt32LE(0) !== MCUBOOT_IMAGE_MAGIC) return fail(RC.unknown);
      if (sha !== undefined && (!(sha instanceof Uint8Array) || sha.length > 32)) return fail(RC.unknown);
      const prev = this.upload;
      if (sha instanceof Uint8Array && sha.length > 0 && prev?.sha.equals(sha)) {
        return { body: { rc: 0, off: prev.off }, last: false };
      }
      if ((this.slotComplete && this.testHash) || !this.runningConfirmed) return fail(RC.badState);
      this.upload = { len, off: 0, sha: Buffer.from(sha instanceof Uint8Array ? sha : []) };
      this.slotBytes = 0;
      this.slotComplete = false;
      this.testHash = undefined;
      const eraseMs = this.faults.eraseMs ?? 0;
      if (eraseMs > 0) await new Promise((resolve) => setTimeout(resolve, eraseMs));
    }
    const up = this.upload;
    if (!up) return { body: { rc: 0, off: 0 }, last: false };
    if (off !== up.off) return { body: { rc: 0, off: up.off }, last: false };
    const { failAt, rewindOnceAt } = this.faults;
    if (failAt && off >= failAt.offset) return fail(failAt.rc);
    if (rewindOnceAt !== undefined && off >= rewindOnceAt && off > 0) {
      this.faults.rewindOnceAt = undefined;
      up.off = Math.max(0, off - 100);
      this.slotBytes = up.off;
      return { body: { rc: 0, off: up.off }, last: false };
    }
    if (off + data.length > up.len) return fail(RC.invalid);
    this.slot1.set(data, off);
    up.off += data.length;
    this.slotBytes = up.off;
    if (up.off < up.len) return { body: { rc: 0, off: up.off }, last: false };
    this.slotComplete = true;
    this.upload = undefined;
    return { body: { rc: 0, off: up.len }, last: true };
  }

  /** img_mgmt_state_write: test (confirm false) or confirm an image by hash; confirm without a hash = the running one. */
  #stateWrite(body: Body): Body {
    const { hash, confirm } = body;
    if (this.faults.stateWriteRc !== undefined) return { rc: this.faults.stateWriteRc };
    if (hash === undefined) {
      if (confirm !== true) return { rc: RC.invalid };
      this.runningConfirmed = true;
      return { images: this.#images() };
    }
    if (!(hash instanceof Uint8Array)) return { rc: RC.invalid };
    if (this.runningHash.equals(hash)) {
      if (confirm !== true) return { rc: RC.unknown };
      this.runningConfirmed = true;
      return { images: this.#images() };
    }
    if (!this.#uploadedImage()?.hash?.equals(hash)) return { rc: RC.unknown };
    this.testHash = Buffer.from(hash);
    return { images: this.#images() };
  }

  #uploadedImage(): { version: string; hash: Buffer | undefined } | undefined {
    if (!this.slotComplete) return undefined;
    const parsed = parseMcubootImage(this.stored());
    return parsed.ok ? { version: parsed.value.version, hash: parsed.value.imageHash } : undefined;
  }

  #images(): CborValue[] {
    const images: CborValue[] = [
      {
        image: 0,
        slot: 0,
        version: '1.0.0',
        hash: this.runningHash,
        bootable: true,
        confirmed: this.runningConfirmed,
        active: true,
      },
    ];
    const up = this.#uploadedImage();
    if (up?.hash) {
      images.push({
        image: 0,
        slot: 1,
        version: up.version,
        hash: up.hash,
        bootable: true,
        pending: this.testHash?.equals(up.hash) ?? false,
      });
    }
    return images;
  }
}

/** The response packet for a request packet, or undefined when the device's answer is lost. */
export async function answerPacket(device: ImgMgmtDevice, req: SmpMessage): Promise<Uint8Array | undefined> {
  const body = await device.answer(req);
  if (body === undefined) return undefined;
  return encodeSmpMessage({ ...req.header, op: (req.header.op + 1) as 1 | 3, body });
}

/** An ImgMgmtDevice on the device end of a pty, speaking SMP serial frames. */
export class ImgMgmtPtyDevice {
  /** Lengths of every SMP packet received (each must fit the device's buffer with the framing). */
  readonly packetSizes: number[] = [];
  /** Packets dropped because they did not fit (Zephyr's base64_decode into the net_buf fails with -ENOMEM). */
  droppedPackets = 0;
  readonly #splitter = new LineSplitter(8192);
  readonly #asm = new SmpSerialAssembler();
  /** Zephyr's two line buffers for frames (test/sim/serial/line-buffers.ts). */
  readonly #lineBuffers = new LineBuffers(ZEPHYR_LINE_BUFFERS, (frame) => this.#onFrame(frame));

  private constructor(
    private readonly port: SerialPortStream,
    readonly device: ImgMgmtDevice,
  ) {
    port.on('data', (chunk: Buffer) => this.#onData(chunk));
    port.on('error', () => {});
  }

  static async open(path: string, device: ImgMgmtDevice): Promise<ImgMgmtPtyDevice> {
    const port = new SerialPortStream({ binding: autoDetect(), path, baudRate: 115_200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new ImgMgmtPtyDevice(port, device);
  }

  /** SMP frames dropped for want of a free line buffer. */
  get droppedFrames(): number {
    return this.#lineBuffers.dropped;
  }

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  #onData(chunk: Buffer): void {
    this.#splitter.push(chunk, (ev) => {
      if (ev.kind === 'line' && (isFirstFrame(ev.line) || isContinuationFrame(ev.line))) {
        this.#lineBuffers.frame(ev.line);
      }
    });
  }

  #onFrame(frame: Uint8Array): void {
    for (const r of this.#asm.push(frame)) {
      if (!r.ok) continue;
      this.packetSizes.push(r.value.length);
      if (r.value.length + SERIAL_FRAMING_OVERHEAD > this.device.bufSize) {
        this.droppedPackets++;
        continue;
      }
      const msg = decodeSmpMessage(r.value);
      if (!msg.ok) continue;
      void answerPacket(this.device, msg.value).then((packet) => {
        if (!packet) return;
        for (const frame of encodeSerialFrames(packet)) this.port.write(frame);
      });
    }
  }
}
