// bridge/request/device/coap {"method", "path", "payload", "content_format"}: checked and turned into one request.
import { ContentFormat } from './content-format.js';
import type { CoapMethod } from './endpoint.js';

const METHODS = new Set<CoapMethod>(['GET', 'POST', 'PUT', 'DELETE', 'FETCH', 'PATCH', 'iPATCH']);

export interface RawRequest {
  method: CoapMethod;
  path: string;
  payload?: Buffer | undefined;
  contentFormat?: number | undefined;
}

export function parseRawRequest(data: Record<string, unknown>): RawRequest {
  const method = String(data.method ?? 'GET') as CoapMethod;
  if (!METHODS.has(method)) throw new Error(`method must be one of ${[...METHODS].join(', ')}`);
  if (typeof data.path !== 'string' || !data.path.startsWith('/')) throw new Error('"path" must start with "/"');
  const format = data.content_format;
  if (format !== undefined && (!Number.isInteger(format) || (format as number) < 0 || (format as number) > 0xffff)) {
    throw new Error('"content_format" must be an integer from 0 to 65535');
  }
  const body = encodePayload(data.payload);
  return {
    method,
    path: data.path,
    payload: body?.bytes,
    contentFormat: (format as number | undefined) ?? body?.contentFormat,
  };
}

/** A string goes as it is; an object or array as JSON, Content-Format 50 unless the request names one. */
function encodePayload(payload: unknown): { bytes: Buffer; contentFormat?: number } | undefined {
  if (payload === undefined || payload === null) return undefined;
  if (typeof payload === 'string') return { bytes: Buffer.from(payload) };
  if (typeof payload === 'object')
    return { bytes: Buffer.from(JSON.stringify(payload)), contentFormat: ContentFormat.json };
  return { bytes: Buffer.from(String(payload)) };
}
