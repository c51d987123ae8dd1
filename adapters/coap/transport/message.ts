// Pure CoAP message codec on top of coap-packet: bytes in, a typed message (options already interpreted) or a
// typed error out. Keeping option interpretation here lets the endpoint code deal only with meaning.
import { generate, type NamedOption, type Option, parse } from 'coap-packet';
import { type BlockOption, decodeBlock, decodeUint, encodeBlock, encodeUint } from './options.js';

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
  contentFormat?: number | undefined;
  accept?: number | undefined;
  observe?: number | undefined;
  block1?: BlockOption | undefined;
  block2?: BlockOption | undefined;
  size1?: number | undefined;
  size2?: number | undefined;
  noResponse?: number | undefined;
  /** Critical options (odd numbers, RFC 7252 §5.4.1) this codec does not understand. */
  unknownCritical: number[];
  payload: Buffer;
}

export type DecodeResult = { ok: true; message: CoapMessage } | { ok: false; error: string };

const OPTION_NUMBERS: Record<string, number> = {
  'If-Match': 1,
  'Uri-Host': 3,
  ETag: 4,
  'If-None-Match': 5,
  Observe: 6,
  'Uri-Port': 7,
  'Location-Path': 8,
  OSCORE: 9,
  'Uri-Path': 11,
  'Content-Format': 12,
  'Max-Age': 14,
  'Uri-Query': 15,
  'Hop-Limit': 16,
  Accept: 17,
  'Q-Block1': 19,
  'Location-Query': 20,
  Block2: 23,
  Block1: 27,
  Size2: 28,
  'Q-Block2': 31,
  'Proxy-Uri': 35,
  'Proxy-Scheme': 39,
  Size1: 60,
  'No-Response': 258,
  'OCF-Accept-Content-Format-Version': 2049,
  'OCF-Content-Format-Version': 2053,
};
// Critical options we accept: the host/port we are addressed by carry no meaning for a single-host server.
const UNDERSTOOD_CRITICAL = new Set([3, 7, 11, 15, 17, 23, 27]);

const METHOD_CODES = new Set(['0.01', '0.02', '0.03', '0.04', '0.05', '0.06', '0.07']);

export function isRequestCode(code: string): boolean {
  return METHOD_CODES.has(code);
}

export function decodeMessage(bytes: Buffer): DecodeResult {
  if (bytes.length < 4) return { ok: false, error: 'datagram shorter than the 4-byte CoAP header' };
  if (bytes[0]! >> 6 !== 1) return { ok: false, error: `unsupported CoAP version ${bytes[0]! >> 6}` };
  if ((bytes[0]! & 0x0f) > 8) return { ok: false, error: 'token length above 8 (reserved)' };
  let packet: ReturnType<typeof parse>;
  try {
    packet = parse(bytes);
  } catch (error) {
    return { ok: false, error: `malformed CoAP message: ${(error as Error).message}` };
  }
  const type: MessageType = packet.ack ? 'ACK' : packet.reset ? 'RST' : packet.confirmable ? 'CON' : 'NON';
  const codeClass = Number(packet.code.slice(0, 1));
  if (codeClass === 1 || codeClass === 6 || codeClass === 7)
    return { ok: false, error: `reserved code ${packet.code}` };
  const message: CoapMessage = {
    type,
    code: packet.code,
    messageId: packet.messageId,
    token: packet.token,
    path: [],
    query: [],
    locationPath: [],
    unknownCritical: [],
    payload: packet.payload ?? Buffer.alloc(0),
  };
  for (const option of packet.options ?? []) {
    // coap-packet names the options it knows and hands others over as decimal strings ("292").
    const number =
      typeof option.name === 'number' ? option.name : (OPTION_NUMBERS[option.name] ?? numericName(option.name));
    const value = option.value;
    switch (number) {
      case 11:
        message.path.push(value.toString('utf8'));
        break;
      case 15:
        message.query.push(value.toString('utf8'));
        break;
      case 8:
        message.locationPath.push(value.toString('utf8'));
        break;
      case 12:
        if (value.length > 2) return { ok: false, error: 'Content-Format longer than 2 bytes' };
        message.contentFormat = decodeUint(value);
        break;
      case 17:
        if (value.length > 2) return { ok: false, error: 'Accept longer than 2 bytes' };
        message.accept = decodeUint(value);
        break;
      case 6:
        if (value.length > 3) return { ok: false, error: 'Observe longer than 3 bytes' };
        message.observe = decodeUint(value);
        break;
      case 23:
      case 27: {
        const block = decodeBlock(value);
        if (!block) return { ok: false, error: `invalid Block${number === 27 ? 1 : 2} option` };
        if (number === 27) message.block1 = block;
        else message.block2 = block;
        break;
      }
      case 60:
        message.size1 = decodeUint(value.subarray(0, 4));
        break;
      case 28:
        message.size2 = decodeUint(value.subarray(0, 4));
        break;
      case 258:
        message.noResponse = decodeUint(value.subarray(0, 1));
        break;
      default:
        if (number === undefined) return { ok: false, error: `unknown option ${String(option.name)}` };
        if (number % 2 === 1 && !UNDERSTOOD_CRITICAL.has(number)) message.unknownCritical.push(number);
    }
  }
  return { ok: true, message };
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
  payload?: Buffer | undefined;
}

function numericName(name: string): number | undefined {
  return /^\d+$/.test(name) ? Number(name) : undefined;
}

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
