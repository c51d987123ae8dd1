// HTTP clients for the dashboard API of a test gateway: logins and a server-sent-events reader.
import { hashPassword } from '../../gateway/broker/password.js';

export interface SseReader {
  /** Resolves with the data of the first later event that matches. */
  next(predicate: (event: string, data: unknown) => boolean): Promise<unknown>;
  /** Every event read so far, in order. */
  readonly seen: Array<{ event: string; data: unknown }>;
  /** Resolves when the server ends the stream (reads and keeps events until then). */
  ended(): Promise<void>;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<SseReader> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`event stream answered ${res.status}`);
  const reader = res.body!.getReader();
  const seen: Array<{ event: string; data: unknown }> = [];
  let buffer = '';
  let cursor = 0;
  let done = false;
  const readMore = async (): Promise<void> => {
    const chunk = await reader.read();
    if (chunk.done) {
      done = true;
      return;
    }
    buffer += Buffer.from(chunk.value).toString('utf8');
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(frame)?.[1] ?? 'message';
      seen.push({ event, data: JSON.parse(/^data: (.*)$/m.exec(frame)?.[1] ?? 'null') as unknown });
    }
  };
  return {
    seen,
    async next(predicate) {
      for (;;) {
        while (cursor < seen.length) {
          const { event, data } = seen[cursor++]!;
          if (predicate(event, data)) return data;
        }
        if (done) throw new Error('event stream ended');
        await readMore();
      }
    },
    async ended() {
      while (!done) await readMore();
      clearTimeout(timer);
    },
    close() {
      clearTimeout(timer);
      controller.abort();
    },
  };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** Logs in and returns the session cookie (`name=value`) to send back. */
export async function login(httpUrl: string, username: string, password: string): Promise<string> {
  const res = await postJson(`${httpUrl}/api/login`, { username, password });
  if (res.status !== 200) throw new Error(`login as ${username} answered ${res.status}`);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** A broker user entry with a cheap hash (tests that time logins hash with the defaults instead). */
export async function user(username: string, acl: Array<{ allow: 'publish' | 'subscribe' | 'both'; topic: string }>) {
  return { username, password_hash: await hashPassword(`${username}-pw`, { N: 1024 }), acl };
}
