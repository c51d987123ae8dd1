// The open /api/events (server-sent events) streams: each filtered through its user's ReadView, held per session
// so that logout or expiry closes them, and dropped when the reader stops reading instead of buffering for it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DashboardChange } from './model.js';
import type { ReadView } from './read-view.js';
import type { Session } from './sessions.js';
import { throttleAddress } from './throttle-address.js';

const MAX_STREAMS = 32;
/** Streams one user (or, without logins, one address) may hold, whatever their sessions: no user can take every
 * slot from the others. */
const MAX_STREAMS_PER_CLIENT = 8;
/**
 * A reader this far behind (beyond its opening snapshot) is not coming back soon: close it rather than hold the
 * data for it. Node keeps each write as its own chunk, so a stream costs about twice this in memory; 32 streams
 * stay near 25 MB on a small gateway.
 */
export const MAX_BUFFERED_BYTES = 256 * 1024;

interface Stream {
  res: ServerResponse;
  view: ReadView;
  /** The session it was opened under; undefined for anonymous access. */
  token: string | undefined;
  /** Who holds it, for the per-client limit: `user:<name>`, or without logins `addr:<address>` (an IPv6 one by its
   * /64, which one host can send from). */
  client: string;
  /** The client's address (behind trusted proxies, the forwarded one). */
  remote: string | undefined;
  /** Bytes it may have waiting: MAX_BUFFERED_BYTES beyond the snapshot, which a large gateway makes big. */
  allowance: number;
}

export class EventStreams {
  readonly #streams = new Set<Stream>();

  constructor(private readonly onSlowReader: (remote: string | undefined, buffered: number) => void) {}

  /**
   * Opens a stream that starts with `snapshot`; false (nothing written) when there are too many already.
   * `remote`: the client's address, behind trusted proxies the forwarded one.
   */
  open(
    req: IncomingMessage,
    res: ServerResponse,
    remote: string | undefined,
    view: ReadView,
    session: Session | undefined,
    snapshot: unknown,
  ): boolean {
    if (this.#streams.size >= MAX_STREAMS) return false;
    const client = session ? `user:${session.user}` : `addr:${throttleAddress(remote)}`;
    let own = 0;
    for (const s of this.#streams) if (s.client === client) own++;
    if (own >= MAX_STREAMS_PER_CLIENT) return false;
    const token = session?.token;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const opening = frame('snapshot', snapshot);
    const allowance = MAX_BUFFERED_BYTES + Buffer.byteLength(opening);
    const stream: Stream = { res, view, token, client, remote, allowance };
    this.#streams.add(stream);
    req.on('close', () => this.#streams.delete(stream));
    this.#write(stream, opening);
    return true;
  }

  broadcast(change: DashboardChange): void {
    let unfiltered: string | undefined;
    for (const stream of this.#streams) {
      const visible = stream.view.change(change);
      if (!visible) continue;
      // Serialised once for every reader who sees the change as it is.
      if (visible === change) unfiltered ??= frame('change', change);
      this.#write(stream, visible === change ? (unfiltered as string) : frame('change', visible));
    }
  }

  /** Closes the streams opened under a session that ended. */
  endSession(token: string): void {
    for (const stream of this.#streams) if (stream.token === token) this.#close(stream);
  }

  endAll(): void {
    for (const stream of this.#streams) this.#close(stream);
  }

  #write(stream: Stream, text: string): void {
    stream.res.write(text);
    const buffered = stream.res.writableLength;
    if (buffered <= stream.allowance) return;
    this.#streams.delete(stream);
    stream.res.destroy();
    this.onSlowReader(stream.remote, buffered);
  }

  #close(stream: Stream): void {
    this.#streams.delete(stream);
    stream.res.end();
  }
}

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
