// A simulated Zephyr device that implements img_mgmt upload the way Zephyr's img_mgmt.c does: the first chunk
// (off 0) carries len and sha and starts an upload, or resumes one with the same sha; a chunk at another offset
// than the expected one is answered with the expected offset; the bytes are stored in a "slot 1". It also answers
// mcumgr_params, image state read/write and reset, and can inject faults. `ImgMgmtDevice` answers decoded
// requests (in-process tests); `ImgMgmtPtyDevice` puts it on the far end of a pty with real serial frames.
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortStream } from '@serialport/stream';
import type { CborValue } from '../../../adapters/common/smp/cbor.js';
import { parseMcubootImage } from '../../../adapters/common/smp/mcuboot-image.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler } from '../../../adapters/common/smp/serial-frame.js';
import { LineSplitter } from '../../../adapters/serial/line-splitter.js';

export const RUNNING_HASH = Buffer.alloc(32, 0xaa);

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
}

type Body = { [key: string]: CborValue };

export class ImgMgmtDevice {
  readonly bufSize = 256;
  readonly requests: SmpMessage[] = [];
  readonly slot1 = Buffer.alloc(1 << 20);
  /** Upload state, as img_mgmt keeps it between requests. */
  upload: { len: number; off: number; sha: Buffer } | undefined;
  testHash: Buffer | undefined;
  resets = 0;
  readonly #held: (() => void)[] = [];
  #uploadAnswers = 0;
  #waiters: { n: number; resolve(): void }[] = [];

  constructor(public faults: ImgMgmtFaults = {}) {}

  /** The bytes stored so far. */
  stored(): Buffer {
    return this.slot1.subarray(0, this.upload?.off ?? 0);
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

  /** The response body for one request; held upload answers resolve on `release()`. */
  answer(req: SmpMessage): Promise<Body> {
    this.requests.push(req);
    const { group, id } = req.header;
    if (group === 0 && id === 6) {
      return Promise.resolve(this.faults.noParams ? { rc: 8 } : { buf_size: this.bufSize, buf_count: 4 });
    }
    if (group === 0 && id === 5) {
      this.resets++;
      return Promise.resolve({});
    }
    if (group === 1 && id === 0) {
      return Promise.resolve(req.header.op === 0 ? { images: this.#images() } : this.#stateWrite(req.body));
    }
    if (group === 1 && id === 1) {
      const body = this.#uploadChunk(req.body);
      this.#uploadAnswers++;
      for (const w of this.#waiters.filter((w) => this.#uploadAnswers >= w.n)) w.resolve();
      this.#waiters = this.#waiters.filter((w) => this.#uploadAnswers < w.n);
      if (!this.faults.holdUpload) return Promise.resolve(body);
      return new Promise((resolve) => this.#held.push(() => resolve(body)));
    }
    return Promise.resolve({ rc: 8 });
  }

  #uploadChunk(body: Body): Body {
    const { off, data, len, sha } = body;
    if (typeof off !== 'number' || !(data instanceof Uint8Array)) return { rc: 3 };
    if (off === 0) {
      if (typeof len !== 'number' || !(sha instanceof Uint8Array) || sha.length !== 32) return { rc: 3 };
      const prev = this.upload;
      if (prev && prev.len === len && prev.sha.equals(sha) && prev.off > 0 && prev.off < len) {
        return { rc: 0, off: prev.off };
      }
      this.upload = { len, off: 0, sha: Buffer.from(sha) };
    }
    const up = this.upload;
    if (!up) return { rc: 6 };
    if (off !== up.off) return { rc: 0, off: up.off };
    const { failAt, rewindOnceAt } = this.faults;
    if (failAt && off >= failAt.offset) return { rc: failAt.rc };
    if (rewindOnceAt !== undefined && off >= rewindOnceAt && off > 0) {
      this.faults.rewindOnceAt = undefined;
      up.off = Math.max(0, off - 100);
      return { rc: 0, off: up.off };
    }
    if (off + data.length > up.len) return { rc: 3 };
    this.slot1.set(data, off);
    up.off += data.length;
    return { rc: 0, off: up.off };
  }

  #stateWrite(body: Body): Body {
    const hash = body.hash;
    const image = this.#uploadedImage();
    if (!(hash instanceof Uint8Array) || !image?.hash?.equals(hash)) return { rc: 3 };
    if (body.confirm !== false) return { rc: 8 };
    if (this.faults.stateWriteRc !== undefined) return { rc: this.faults.stateWriteRc };
    this.testHash = Buffer.from(hash);
    return { images: this.#images() };
  }

  #uploadedImage(): { version: string; hash: Buffer | undefined } | undefined {
    if (!this.upload || this.upload.off !== this.upload.len) return undefined;
    const parsed = parseMcubootImage(this.stored());
    return parsed.ok ? { version: parsed.value.version, hash: parsed.value.imageHash } : undefined;
  }

  #images(): CborValue[] {
    const images: CborValue[] = [
      { image: 0, slot: 0, version: '1.0.0', hash: RUNNING_HASH, bootable: true, confirmed: true, active: true },
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

/** The response packet for a request packet. */
export async function answerPacket(device: ImgMgmtDevice, req: SmpMessage): Promise<Uint8Array> {
  const body = await device.answer(req);
  return encodeSmpMessage({ ...req.header, op: (req.header.op + 1) as 1 | 3, body });
}

/** An ImgMgmtDevice on the device end of a pty, speaking SMP serial frames. */
export class ImgMgmtPtyDevice {
  /** Lengths of every SMP packet received (each must fit the device's buffer). */
  readonly packetSizes: number[] = [];
  readonly #splitter = new LineSplitter(8192);
  readonly #asm = new SmpSerialAssembler();

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

  async close(): Promise<void> {
    if (!this.port.isOpen) return;
    await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  #onData(chunk: Buffer): void {
    this.#splitter.push(chunk, (ev) => {
      if (ev.kind !== 'line') return;
      for (const r of this.#asm.push(ev.line)) {
        if (!r.ok) continue;
        this.packetSizes.push(r.value.length);
        const msg = decodeSmpMessage(r.value);
        if (!msg.ok) continue;
        void answerPacket(this.device, msg.value).then((packet) => {
          for (const frame of encodeSerialFrames(packet)) this.port.write(frame);
        });
      }
    });
  }
}
