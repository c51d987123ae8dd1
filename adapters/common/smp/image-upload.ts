// Uploads a firmware image with img_mgmt's upload command (group 1, id 1, write), chunk by chunk, over any SMP
// transport. The device says which offset it wants next; this follows it, so a device that still holds part of
// an earlier upload with the same SHA-256 resumes there, and one that lost a chunk asks for it again.
// A device that answers the last chunk with an earlier offset may have finished already: Zephyr forgets a
// finished upload, so when the answer to the last chunk is lost, the resent chunk is answered {off: 0}. The image
// state then tells whether the image arrived; otherwise the upload starts again from 0.
import { createHash } from 'node:crypto';
import type { CborValue } from './cbor.js';
import { encodeCbor } from './cbor.js';
import type { SmpClient } from './client.js';
import { SmpGroup } from './commands.js';
import { SMP_HEADER_SIZE, SmpOp } from './header.js';
import { holdsUploadedImage } from './image-state.js';
import { SmpRcError } from './rc-error.js';

const IMAGE_UPLOAD_ID = 1;
const MCUMGR_PARAMS_ID = 6;
/** Data bytes per chunk when the device does not report its buffer size (fits Zephyr's smallest buffers). */
export const FALLBACK_CHUNK_SIZE = 128;
/** Answers in a row that do not move past the answer before them, after which the upload gives up. */
const MAX_STALLED_ANSWERS = 8;
/**
 * Wait for the answer to the chunk at offset 0: Zephyr erases the slot (and may hash it) before answering, which
 * takes seconds to dozens of seconds on large slots. smpclient waits 40 s too.
 */
export const FIRST_CHUNK_TIMEOUT_MS = 40_000;
/** MCUboot's image header, which Zephyr wants whole in the first chunk. */
const IMAGE_HEADER_SIZE = 32;

export interface ImageUploadOptions {
  /** Image number (multi-image MCUboot); 0 is the application. */
  image?: number;
  signal?: AbortSignal;
  /** Called after every answer with the offset the device confirmed. */
  onProgress?(done: number, total: number): void;
  /** The image's hash TLV: lets a finished upload whose last answer was lost be recognised in the image state. */
  imageHash?: Uint8Array;
}

export interface ImageUploadResult {
  bytes: number;
  /** SHA-256 of the whole file, as sent in the first chunk. */
  sha: Buffer;
  chunkSize: number;
  /** The device's buffer size from mcumgr_params, if it reported one. */
  bufSize?: number;
  /** Set when the device asked for an offset other than the next one (resume or lost chunk). */
  resumedFrom?: number;
  requests: number;
}

/** The upload stopped; `offset` is the furthest offset the device confirmed. */
export class ImageUploadError extends Error {
  override readonly name = 'ImageUploadError';

  constructor(
    message: string,
    readonly offset: number,
    readonly total: number,
    readonly reason: unknown,
  ) {
    super(message);
  }
}

export async function uploadImage(
  client: SmpClient,
  file: Uint8Array,
  opts: ImageUploadOptions = {},
): Promise<ImageUploadResult> {
  const total = file.length;
  const sha = createHash('sha256').update(file).digest();
  const image = opts.image ?? 0;
  let confirmed = 0;
  try {
    const bufSize = await readBufferSize(client, opts.signal);
    const chunkSize =
      bufSize === undefined
        ? FALLBACK_CHUNK_SIZE
        : chunkSizeFor(packetRoom(bufSize, client), total, image, client.framingOverhead);
    // Room for every chunk three times over (resumes, lost chunks, one restart) plus the stalled answers.
    const maxRequests = 3 * Math.ceil(total / chunkSize) + MAX_STALLED_ANSWERS;
    let off = 0;
    let previousAnswer = 0;
    let requests = 0;
    let stalled = 0;
    let resumedFrom: number | undefined;
    while (off < total) {
      opts.signal?.throwIfAborted();
      if (requests >= maxRequests) throw new Error(`no complete upload after ${requests} chunks`);
      const data = file.subarray(off, off + chunkSize);
      const body = off === 0 ? firstChunk(image, total, sha, data) : { off, data };
      const res = await abortable(
        client.request({
          op: SmpOp.write,
          group: SmpGroup.image,
          id: IMAGE_UPLOAD_ID,
          body,
          ...(off === 0 ? { timeoutMs: FIRST_CHUNK_TIMEOUT_MS } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        }),
        opts.signal,
      );
      requests++;
      if (res.rc !== 0) throw SmpRcError.from(res);
      const next = res.body.off;
      if (typeof next !== 'number' || !Number.isInteger(next) || next < 0 || next > total) {
        throw new Error(`device answered the chunk at offset ${off} with off ${String(next)}`);
      }
      if (res.body.match === false) throw new Error('device says the image does not match its SHA-256');
      const sentLastChunk = off + data.length === total;
      if (sentLastChunk && next < off && opts.imageHash && (await holdsUploadedImage(client, opts.imageHash))) {
        confirmed = total;
        opts.onProgress?.(total, total);
        break;
      }
      if (next !== off + data.length) resumedFrom ??= next;
      if (next > previousAnswer) stalled = 0;
      else if (++stalled >= MAX_STALLED_ANSWERS) {
        throw new Error(`device asked for offset ${next} ${stalled} times without progress`);
      }
      previousAnswer = next;
      confirmed = Math.max(confirmed, next);
      off = next;
      opts.onProgress?.(next, total);
    }
    // A cancel answered while the last answer was being checked (the image state read above) still stops it.
    opts.signal?.throwIfAborted();
    return {
      bytes: total,
      sha,
      chunkSize,
      ...(bufSize !== undefined ? { bufSize } : {}),
      ...(resumedFrom !== undefined ? { resumedFrom } : {}),
      requests,
    };
  } catch (err) {
    const where = `at offset ${confirmed} of ${total}`;
    const message = opts.signal?.aborted
      ? `upload cancelled ${where}`
      : `upload failed ${where}: ${err instanceof Error ? err.message : String(err)}`;
    throw new ImageUploadError(message, confirmed, total, err);
  }
}

function firstChunk(image: number, len: number, sha: Buffer, data: Uint8Array): { [key: string]: CborValue } {
  return { image, len, off: 0, sha: Uint8Array.from(sha), data, upgrade: false };
}

/** mcumgr_params' buf_size, or undefined when the device does not support the command. */
async function readBufferSize(client: SmpClient, signal: AbortSignal | undefined): Promise<number | undefined> {
  const res = await abortable(
    client.request({ op: SmpOp.read, group: SmpGroup.os, id: MCUMGR_PARAMS_ID, ...(signal ? { signal } : {}) }),
    signal,
  );
  const size = res.body.buf_size;
  return res.rc === 0 && typeof size === 'number' && Number.isInteger(size) && size > 0 ? size : undefined;
}

/** The device's buffer, or less when the transport carries smaller packets (framing counted as in the buffer). */
function packetRoom(bufSize: number, client: SmpClient): number {
  const { maxPacketSize } = client;
  return maxPacketSize === undefined ? bufSize : Math.min(bufSize, maxPacketSize + client.framingOverhead);
}

/**
 * The most data bytes per chunk such that the whole SMP packet (header + CBOR body of the largest chunk, the
 * first one with len and sha) plus the transport's framing fits the device's buffer. Measured by encoding rather
 * than by a fixed overhead, so the CBOR integer widths of len/off are exact.
 */
export function chunkSizeFor(bufSize: number, total: number, image = 0, framingOverhead = 0): number {
  const empty = new Uint8Array(0);
  const overhead = Math.max(
    encodeCbor(firstChunk(image, total, Buffer.alloc(32), empty)).length,
    encodeCbor({ off: total, data: empty }).length,
  );
  // An empty byte string's head is 1 byte; a longer one needs 2 (< 256 bytes) or 3 (< 65536).
  let size = bufSize - framingOverhead - SMP_HEADER_SIZE - overhead;
  if (size >= 24) size -= 1;
  if (size >= 256) size -= 1;
  if (size < IMAGE_HEADER_SIZE) {
    throw new Error(
      `device buffer of ${bufSize} bytes cannot hold an upload chunk with the ${IMAGE_HEADER_SIZE}-byte image ` +
        `header (room for ${Math.max(0, size)} data bytes); raise CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE`,
    );
  }
  // The SMP header's length field is 16 bits.
  return Math.min(size, 0xffff - overhead - 2);
}

/**
 * Stops waiting at the cancel even while the request still queues behind another one (a `device/smp` request);
 * the client itself drops the request then, so it never goes out.
 */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
