// GET /.well-known/core (RFC 6690): the resources a device may use on the gateway, in CoRE Link Format, filtered by
// the query as RFC 6690 §4.1 describes (no match: an empty 2.05, as libcoap answers).
import type { CoapIncomingRequest, CoapOutgoingResponse } from './endpoint.js';
import { filterLinks, formatLinks } from './link-filter.js';
import type { CoreLink } from './link-format.js';

const LINK_FORMAT = 40;
const LINKS: readonly CoreLink[] = [{ path: '/ps', attributes: { rt: 'core.ps', ct: '0 42 50 60 110 112' } }];
const ALL_LINKS = formatLinks(LINKS);

export function serveWellKnownCore(req: CoapIncomingRequest): CoapOutgoingResponse {
  if (req.path[1] !== 'core') return { code: req.method === 'GET' ? '4.04' : '4.05' };
  if (req.method !== 'GET') return { code: '4.05' };
  // RFC 7252 §5.10.4: a format we cannot return is refused rather than answered in another one.
  if (req.accept !== undefined && req.accept !== LINK_FORMAT) {
    return { code: '4.06', contentFormat: 0, payload: 'served as application/link-format (40) only' };
  }
  const payload = req.query.length === 0 ? ALL_LINKS : formatLinks(filterLinks(LINKS, req.query));
  return { code: '2.05', contentFormat: LINK_FORMAT, payload };
}
