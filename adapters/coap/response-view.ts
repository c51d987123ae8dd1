// A device's CoAP response as published on <base>/<id>/response and answered to bridge/request/device/coap.
import type { CoapClientResponse } from './endpoint.js';

export function describeResponse(res: CoapClientResponse): Record<string, unknown> {
  const body = res.payload.subarray(0, res.payload.length - trailingNuls(res.payload));
  const printable = body.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b <= 0x7e));
  return {
    code: res.code,
    content_format: res.contentFormat ?? null,
    payload: printable ? body.toString('utf8') : res.payload.toString('hex'),
    payload_encoding: printable ? 'utf8' : 'hex',
    ...responseOptions(res),
  };
}

/** The options a caller may need, when present: where a POST created something, how long the answer is valid. */
function responseOptions(res: CoapClientResponse): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (res.locationPath) options.location_path = res.locationPath;
  if (res.locationQuery) options.location_query = res.locationQuery;
  if (res.maxAge !== undefined) options.max_age = res.maxAge;
  if (res.etag) options.etag = res.etag.toString('hex');
  return options;
}

function trailingNuls(bytes: Buffer): number {
  let n = 0;
  while (n < bytes.length && bytes[bytes.length - 1 - n] === 0) n++;
  return n;
}
