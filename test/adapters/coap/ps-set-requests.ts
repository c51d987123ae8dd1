// GET /ps/<id>/set as a device sends it for its commands, framed by hand (raw-peer.ts): a poll, or a registration
// (Observe 0), naming the ETags of the commands it holds. Each request takes the next message id and a one-byte token
// made from it (or the token it is given); lastToken() gives the last one's, to match the notifications sent on it.
import { ETAG, OBSERVE, URI_PATH, URI_QUERY } from './option-numbers.js';
import { frame } from './raw-peer.js';

export interface PsSetRequest {
  /** Observe 0: a registration. */
  observe?: boolean;
  /** ETags of the commands the device holds (RFC 7252 §5.10.6.2). */
  etags?: readonly Buffer[];
  /** Uri-Query options (`token=<secret>` for a device configured with a token). */
  query?: readonly string[];
  /** The token of an earlier request (a registration repeated on its token) instead of a new one. */
  token?: Buffer;
  /** The id in the path instead of the device's: `''` asks /ps//set, which names the device by its token or address. */
  id?: string;
  /** Further options, such as Accept (17), Block2 (23) or Proxy-Uri (35). */
  options?: ReadonlyArray<[number, number[] | string]>;
  /** False: a NON request. */
  confirmable?: boolean;
}

export function psSetRequests(deviceId: string): {
  /** The next GET /ps/<deviceId>/set, CON unless told otherwise. */
  next: (request?: PsSetRequest) => Buffer;
  lastToken: () => Buffer;
} {
  let mid = 0x4000;
  let token: Buffer = Buffer.alloc(0);
  const next = ({
    observe = false,
    etags = [],
    query = [],
    confirmable = true,
    ...more
  }: PsSetRequest = {}): Buffer => {
    mid++;
    token = more.token ?? Buffer.from([mid & 0xff]);
    return frame({
      type: confirmable ? 'CON' : 'NON',
      code: '0.01',
      mid,
      token: [...token],
      options: [
        ...(observe ? [[OBSERVE, []] as [number, number[]]] : []),
        [URI_PATH, 'ps'],
        [URI_PATH, more.id ?? deviceId],
        [URI_PATH, 'set'],
        ...etags.map((e): [number, Buffer] => [ETAG, e]),
        ...query.map((q): [number, string] => [URI_QUERY, q]),
        ...(more.options ?? []),
      ],
    });
  };
  return { next, lastToken: () => token };
}
