// CoRE link format (RFC 6690) as LwM2M uses it: the registration payload and Discover responses.
import { type Lwm2mPath, parsePath } from './path.js';
import { type Decoded, fail, ok } from './result.js';

export interface LinkEntry {
  /** `undefined` for the root link `</>` that carries `ct=` / `rt=`. */
  path: Lwm2mPath | undefined;
  attrs: Record<string, string | true>;
}

const MAX_LINKS = 1024;

/**
 * Registration payloads parsed once per distinct text and shared (frozen) by every registration that sent it:
 * clients running the same firmware register with the same links, so 1,000 of them hold one parsed list instead
 * of 1,000 copies (about 3 objects per link). Bounded in entries and in the length of a cached text.
 */
export class SharedLinkParser {
  readonly #byText = new Map<string, readonly LinkEntry[]>();

  constructor(
    private readonly maxEntries = 64,
    private readonly maxTextLength = 4096,
  ) {}

  get size(): number {
    return this.#byText.size;
  }

  parse(text: string): Decoded<readonly LinkEntry[]> {
    const cached = this.#byText.get(text);
    if (cached) return ok(cached);
    const parsed = parseLinkFormat(text);
    if (!parsed.ok) return parsed;
    const links = Object.freeze(
      parsed.value.map((l) => Object.freeze({ path: l.path && Object.freeze(l.path), attrs: Object.freeze(l.attrs) })),
    );
    if (text.length <= this.maxTextLength) {
      if (this.#byText.size >= this.maxEntries) {
        const oldest = this.#byText.keys().next().value;
        if (oldest !== undefined) this.#byText.delete(oldest);
      }
      this.#byText.set(text, links);
    }
    return ok(links);
  }
}

export function parseLinkFormat(text: string): Decoded<LinkEntry[]> {
  const out: LinkEntry[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return ok(out);
  for (const raw of splitOutsideQuotes(trimmed, ',')) {
    if (out.length >= MAX_LINKS) return fail(`more than ${MAX_LINKS} links`);
    const [target, ...params] = splitOutsideQuotes(raw.trim(), ';');
    const m = /^<([^>]*)>$/.exec(target ?? '');
    if (!m) return fail(`bad link "${raw.slice(0, 40)}"`);
    const uri = m[1] ?? '';
    let path: Lwm2mPath | undefined;
    if (uri !== '/') {
      const p = parsePath(uri);
      if (!p.ok || !uri.startsWith('/')) return fail(`bad link target "${uri.slice(0, 40)}"`);
      path = p.value;
    }
    const attrs: Record<string, string | true> = {};
    for (const param of params) {
      const eq = param.indexOf('=');
      const key = (eq < 0 ? param : param.slice(0, eq)).trim();
      if (!/^[a-z][a-z0-9.-]*$/i.test(key)) return fail(`bad link attribute "${param.slice(0, 40)}"`);
      attrs[key] = eq < 0 ? true : param.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
    out.push({ path, attrs });
  }
  return ok(out);
}

function splitOutsideQuotes(s: string, sep: string): string[] {
  const parts: string[] = [];
  let quoted = false;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '"') quoted = !quoted;
    else if (s[i] === sep && !quoted) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}
