// Pure CoAP message codec: bytes in, a typed message (options already interpreted) or a typed error out; encoding
// uses coap-packet. Keeping option interpretation here lets the endpoint code deal only with meaning.
import { generate, type NamedOption, type Option } from 'coap-packet';
import { type BlockOption, blockOf, encodeBlock, encodeUint, readUint } from './options.js';

export type MessageType = 'CON' | 'NON' | 'ACK' | 'RST';

export interface CoapMessage {
  type: MessageType;
  /** "0.01" (GET) ... "2.05" ..., "0.00" for empty messages. */
  code: string;
  messageId: number;
  token: Buffer;
  path: string[];
  query: string[];
  locationPath: string[];
  /** Location-Query (RFC 7252 §5.10.7), on responses only: set when present. */
  locationQuery?: string[] | undefined;
  /** ETag (RFC 7252 §5.10.6): a response's (the first), or the first of a request's. */
  etag?: Buffer | undefined;
  /** Every ETag of a request after the first (§5.10.6.2: a GET may list several it holds). */
  moreEtags?: Buffer[] | undefined;
  contentFormat?: number | undefined;
  accept?: number | undefined;
  observe?: number | undefined;
  block1?: BlockOption | undefined;
  block2?: BlockOption | undefined;
  size1?: number | undefined;
  size2?: number | undefined;
  noResponse?: number | undefined;
  /** Echo (RFC 9175 §2.2): a server's freshness challenge, 1 to 40 opaque bytes. */
  echo?: Buffer | undefined;
  /** Request-Tag (RFC 9175 §3.2), the first: block-wise requests with different ones are different operations. */
  requestTag?: Buffer | undefined;
  /** Max-Age (RFC 7252 §5.10.5): seconds the response stays fresh; absent means 60. */
  maxAge?: number | undefined;
  /** Critical options (odd numbers, RFC 7252 §5.4.1) this codec does not understand. */
  unknownCritical: number[];
  /** Block2 (23) or Block1 (27) with the reserved SZX 7: understood but invalid, a 4.00 (RFC 7959 §2.2). */
  reservedBlockSzx?: number | undefined;
  payload: Buffer;
}

/**
 * Why a datagram was not served normally, as reported to the endpoint's decode-error hook: `packet` (no readable
 * CoAP header), `format` (RFC 7252 §3 framing), `reserved_code` (classes 1, 6, 7), `unknown_method` (4.05),
 * `bad_option` (4.02, 4.00 for a Block option with the reserved SZX 7, or a rejected response), `proxy` (5.05), `too_large` (4.13), `block1_incomplete` (4.08).
 */
export type CoapRejectKind =
  | 'packet'
  | 'format'
  | 'reserved_code'
  | 'unknown_method'
  | 'bad_option'
  | 'proxy'
  | 'too_large'
  | 'block1_incomplete';

export type DecodeResult =
  | { ok: true; message: CoapMessage }
  | { ok: false; kind: 'packet' | 'format' | 'reserved_code'; error: string };

const TYPES: readonly MessageType[] = ['CON', 'NON', 'ACK', 'RST'];
/** "c.dd" for every code byte, built once: decoding a code allocates nothing. */
const CODES = Array.from({ length: 256 }, (_, b) => `${b >> 5}.${String(b & 0x1f).padStart(2, '0')}`);
const EMPTY = Buffer.alloc(0);
/** The options RFC 7252 (Table 4) lets repeat: If-Match, ETag, Location-Path, Uri-Path, Uri-Query, Location-Query. */
const REPEATABLE = new Set([1, 4, 8, 11, 15, 20]);

/** Class 0 except the Empty message: every such code is a request (the server side answers 4.05 to unknown ones). */
export function isRequestCode(code: string): boolean {
  return code.startsWith('0.') && code !== '0.00';
}

export function decodeMessage(bytes: Buffer): DecodeResult {
  const end = bytes.length;
  if (end < 4) return { ok: false, kind: 'packet', error: 'datagram shorter than the 4-byte CoAP header' };
  const first = bytes[0]!;
  if (first >> 6 !== 1) return { ok: false, kind: 'packet', error: `unsupported CoAP version ${first >> 6}` };
  const tokenLength = first & 0x0f;
  if (tokenLength > 8) return formatError('token length above 8 (reserved)');
  const code = CODES[bytes[1]!]!;
  const codeClass = bytes[1]! >> 5;
  // RFC 7252 §12.1: classes 1, 6 and 7 are reserved.
  if (codeClass === 1 || codeClass >= 6) return { ok: false, kind: 'reserved_code', error: `reserved code ${code}` };
  // RFC 7252 §4.1: an Empty message is the header alone. An ACK or RST is matched by its message id alone, so one
  // with more (the Zephyr 2.x coap_client sample acknowledges notifications with its token and cancels them with a
  // RST carrying a token and options) is taken as the Empty message it stands for rather than dropped: dropping it
  // would fail every command to such a device after MAX_RETRANSMIT. A CON or NON 0.00 with more stays an error.
  const type = TYPES[(first >> 4) & 3]!;
  if (code === '0.00' && end > 4) {
    if (type === 'CON' || type === 'NON') return formatError('empty message (0.00) with a token, options or a payload');
    return { ok: true, message: headerOnly(type, code, bytes.readUInt16BE(2), EMPTY) };
  }
  let at = 4 + tokenLength;
  if (at > end) return formatError('token runs past the end of the datagram');
  const message = headerOnly(type, code, bytes.readUInt16BE(2), bytes.subarray(4, at));
  // RFC 7252 §3.1: each option is a (delta, length) nibble pair, 13 and 14 extended by 1 and 2 bytes, 15 reserved
  // (0xFF is the payload marker). Walked here because coap-packet's parser accepts a truncated last option.
  let number = 0;
  let options = 0;
  while (at < end) {
    const byte = bytes[at++]!;
    if (byte === 0xff) {
      if (at === end) return formatError('payload marker without a payload'); // RFC 7252 §3
      message.payload = bytes.subarray(at);
      break;
    }
    let delta = byte >> 4;
    let length = byte & 0x0f;
    if (delta === 15 || length === 15) return formatError('reserved option nibble 15');
    const extension = (delta === 13 ? 1 : delta === 14 ? 2 : 0) + (length === 13 ? 1 : length === 14 ? 2 : 0);
    if (at + extension > end) return formatError('option header runs past the end of the datagram');
    if (delta === 13) delta = 13 + bytes[at++]!;
    else if (delta === 14) delta = 269 + bytes[at++]! * 256 + bytes[at++]!;
    if (length === 13) length = 13 + bytes[at++]!;
    else if (length === 14) length = 269 + bytes[at++]! * 256 + bytes[at++]!;
    number += delta;
    if (number > 0xffff) return formatError('option number above 65535');
    if (at + length > end) return formatError(`option ${number} claims ${length} bytes, ${end - at} left`);
    // RFC 7252 §5.4.1: an unrecognized critical (odd) option is listed for the caller to refuse, an elective one is
    // ignored; §5.4.3: an option whose length is outside its range counts as unrecognized; §5.4.5: so does every
    // occurrence after the first of an option that is not repeatable (options come sorted, so repeats are adjacent).
    const supernumerary = delta === 0 && options > 0 && !REPEATABLE.has(number);
    if ((supernumerary || !readOption(message, number, bytes, at, length)) && number % 2 === 1) {
      message.unknownCritical.push(number);
    }
    options++;
    at += length;
  }
  return { ok: true, message };
}

/** The message its header and token make, before any option or payload is read. */
function headerOnly(type: MessageType, code: string, messageId: number, token: Buffer): CoapMessage {
  return { type, code, messageId, token, path: [], query: [], locationPath: [], unknownCritical: [], payload: EMPTY };
}

function formatError(error: string): DecodeResult {
  return { ok: false, kind: 'format', error };
}

/** Store option `number` (value bytes[at, at + length)) on the message; false when unknown or out of range. */
function readOption(message: CoapMessage, number: number, bytes: Buffer, at: number, length: number): boolean {
  const end = at + length;
  switch (number) {
    case 3: // Uri-Host and Uri-Port: understood and ignored, one host sits behind this socket.
      return length >= 1 && length <= 255;
    case 7:
      return length <= 2;
    case 11:
      if (length > 255) return false;
      message.path.push(bytes.toString('utf8', at, end));
      return true;
    case 15:
      if (length > 255) return false;
      message.query.push(bytes.toString('utf8', at, end));
      return true;
    case 8:
      if (length > 255) return false;
      message.locationPath.push(bytes.toString('utf8', at, end));
      return true;
    case 20: // Location-Query
      if (length > 255) return false;
      message.locationQuery ??= [];
      message.locationQuery.push(bytes.toString('utf8', at, end));
      return true;
    case 4: // ETag: a response carries one (RFC 7252 §5.10.6.1), a request may list several (§5.10.6.2)
      if (length < 1 || length > 8) return false;
      if (message.etag === undefined) {
        message.etag = bytes.subarray(at, end);
        return true;
      }
      message.moreEtags ??= [];
      if (message.moreEtags.length < 8) message.moreEtags.push(bytes.subarray(at, end));
      return true;
    case 12:
      if (length > 2) return false;
      message.contentFormat = readUint(bytes, at, end);
      return true;
    case 17:
      if (length > 2) return false;
      message.accept = readUint(bytes, at, end);
      return true;
    case 6: // Observe, RFC 7641 §2
      if (length > 3) return false;
      message.observe = readUint(bytes, at, end);
      return true;
    case 23: // Block2 and Block1, RFC 7959 §2.2
    case 27: {
      if (length > 3) return false;
      const block = blockOf(readUint(bytes, at, end));
      if (!block) message.reservedBlockSzx = number;
      else if (number === 27) message.block1 = block;
      else message.block2 = block;
      return true;
    }
    case 28: // Size2 and Size1, RFC 7959 §4
    case 60:
      if (length > 4) return false;
      if (number === 60) message.size1 = readUint(bytes, at, end);
      else message.size2 = readUint(bytes, at, end);
      return true;
    case 14: // Max-Age, RFC 7252 §5.10.5
      if (length > 4) return false;
      message.maxAge = readUint(bytes, at, end);
      return true;
    case 258: // No-Response, RFC 7967 §2
      if (length > 1) return false;
      message.noResponse = readUint(bytes, at, end);
      return true;
    case 252: // Echo, RFC 9175 §2.2.1
      if (length < 1 || length > 40) return false;
      message.echo = bytes.subarray(at, end);
      return true;
    case 292: // Request-Tag, RFC 9175 §3.2.1
      if (length > 8) return false;
      message.requestTag = bytes.subarray(at, end);
      return true;
    default:
      return false;
  }
}

export interface OutgoingMessage {
  type: MessageType;
  code: string;
  messageId: number;
  token?: Buffer | undefined;
  path?: readonly string[] | undefined;
  query?: readonly string[] | undefined;
  locationPath?: readonly string[] | undefined;
  contentFormat?: number | undefined;
  accept?: number | undefined;
  observe?: number | undefined;
  block1?: BlockOption | undefined;
  block2?: BlockOption | undefined;
  size1?: number | undefined;
  size2?: number | undefined;
  maxAge?: number | undefined;
  etag?: Buffer | undefined;
  echo?: Buffer | undefined;
  payload?: Buffer | undefined;
}

const ECHO = 252;

const TYPE_BITS: Record<MessageType, number> = { CON: 0, NON: 1, ACK: 2, RST: 3 };

/** Header + token only (the usual 2.04/2.01 ACK, empty ACK, RST): built directly, the hot path of /ps. */
function encodeBare(message: OutgoingMessage): Buffer | undefined {
  const token = message.token ?? Buffer.alloc(0);
  if (
    token.length > 8 ||
    (message.payload !== undefined && message.payload.length > 0) ||
    message.observe !== undefined ||
    message.contentFormat !== undefined ||
    message.accept !== undefined ||
    message.block1 !== undefined ||
    message.block2 !== undefined ||
    message.size1 !== undefined ||
    message.size2 !== undefined ||
    message.maxAge !== undefined ||
    message.etag !== undefined ||
    message.echo !== undefined ||
    (message.path?.length ?? 0) > 0 ||
    (message.query?.length ?? 0) > 0 ||
    (message.locationPath?.length ?? 0) > 0
  ) {
    return undefined;
  }
  const dot = message.code.indexOf('.');
  const codeByte = (Number(message.code.slice(0, dot)) << 5) | Number(message.code.slice(dot + 1));
  const bytes = Buffer.allocUnsafe(4 + token.length);
  bytes[0] = 0x40 | (TYPE_BITS[message.type] << 4) | token.length;
  bytes[1] = codeByte;
  bytes.writeUInt16BE(message.messageId, 2);
  token.copy(bytes, 4);
  return bytes;
}

export function encodeMessage(message: OutgoingMessage): Buffer {
  const bare = encodeBare(message);
  if (bare) return bare;
  const options: (Option | NamedOption)[] = [];
  if (message.etag !== undefined) options.push({ name: 'ETag', value: message.etag });
  if (message.observe !== undefined) options.push({ name: 'Observe', value: encodeUint(message.observe) });
  for (const segment of message.locationPath ?? [])
    options.push({ name: 'Location-Path', value: Buffer.from(segment) });
  for (const segment of message.path ?? []) options.push({ name: 'Uri-Path', value: Buffer.from(segment) });
  if (message.contentFormat !== undefined) {
    options.push({ name: 'Content-Format', value: encodeUint(message.contentFormat) });
  }
  for (const item of message.query ?? []) options.push({ name: 'Uri-Query', value: Buffer.from(item) });
  if (message.accept !== undefined) options.push({ name: 'Accept', value: encodeUint(message.accept) });
  if (message.block2) options.push({ name: 'Block2', value: encodeBlock(message.block2) });
  if (message.block1) options.push({ name: 'Block1', value: encodeBlock(message.block1) });
  if (message.size2 !== undefined) options.push({ name: 'Size2', value: encodeUint(message.size2) });
  if (message.size1 !== undefined) options.push({ name: 'Size1', value: encodeUint(message.size1) });
  if (message.maxAge !== undefined) options.push({ name: 'Max-Age', value: encodeUint(message.maxAge) });
  if (message.echo !== undefined) options.push({ name: ECHO, value: message.echo });
  return generate(
    {
      code: message.code,
      messageId: message.messageId,
      token: message.token ?? Buffer.alloc(0),
      options,
      payload: message.payload ?? Buffer.alloc(0),
      confirmable: message.type === 'CON',
      ack: message.type === 'ACK',
      reset: message.type === 'RST',
    },
    65_535,
  );
}
