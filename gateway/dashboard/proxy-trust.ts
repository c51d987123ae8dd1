// Who sent a request, and over what, behind reverse proxies. X-Forwarded-For is believed only from a TCP peer on
// http.trusted_proxies (none by default): anyone else could write any address. X-Forwarded-Proto: https is believed
// from any peer (https() says why).
import type { IncomingMessage } from 'node:http';
import { canonicalAddress, isIpLiteral } from '../../adapters/coap/transport/peer.js';
import { trustedProxies } from './trusted-proxies.js';

export class ProxyTrust {
  readonly #trusted: (address: string) => boolean;
  #onIgnored: ((peer: string) => void) | undefined;

  /**
   * `onIgnored`: the first time a peer not on the list sends forwarding headers (a proxy missing from the list, or
   * a spoofer); only the first, since behind a proxy missing from the list that is every request.
   */
  constructor(entries: readonly string[], onIgnored?: (peer: string) => void) {
    this.#trusted = trustedProxies(entries);
    this.#onIgnored = onIgnored;
  }

  /**
   * The client's address: the peer's, or, from a trusted peer, X-Forwarded-For's rightmost entry that is not a
   * trusted proxy (express's `trust proxy` with a list). Each proxy appends the address it was reached from, so
   * entries left of the first untrusted one are whatever that client wrote. An entry that is no IP address ends
   * the walk at the trusted proxy that passed it on.
   */
  clientAddress(req: IncomingMessage): string | undefined {
    const peer = canonicalOrUndefined(req.socket.remoteAddress);
    if (peer === undefined || !this.#trusted(peer)) {
      if (peer !== undefined && req.headers['x-forwarded-for'] !== undefined) {
        this.#onIgnored?.(peer);
        this.#onIgnored = undefined;
      }
      return peer;
    }
    let client = peer;
    for (const hop of headerValues(req.headers['x-forwarded-for']).reverse()) {
      if (!isIpLiteral(hop)) break;
      client = canonicalAddress(hop);
      if (!this.#trusted(client)) break;
    }
    return client;
  }

  /**
   * The browser reached a proxy over HTTPS (the first X-Forwarded-Proto, as express reads it): the cookies are then
   * Secure. Believed from any peer, unlike X-Forwarded-For: it can only make a cookie stricter, so a spoofer gains
   * nothing, and a TLS proxy missing from trusted_proxies still gets Secure cookies.
   */
  https(req: IncomingMessage): boolean {
    return headerValues(req.headers['x-forwarded-proto'])[0]?.toLowerCase() === 'https';
  }
}

function canonicalOrUndefined(address: string | undefined): string | undefined {
  return address === undefined ? undefined : canonicalAddress(address);
}

/** A comma-separated header's values; Node joins repeated X-Forwarded-For lines with ", " already. */
function headerValues(header: string | string[] | undefined): string[] {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}
