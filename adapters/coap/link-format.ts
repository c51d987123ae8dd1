// RFC 6690 CoRE Link Format (`/.well-known/core`, CF 40). Pure: text in, links or a typed error out.
export interface CoreLink {
  path: string;
  attributes: Record<string, string | true>;
}

export type LinkFormatResult = { ok: true; links: CoreLink[] } | { ok: false; error: string };

const MAX_LINKS = 512;
// Sticky regexes match at `lastIndex` without copying the rest of the text on every attribute.
const ATTRIBUTE_NAME = /[A-Za-z0-9!#$&+\-.^_`|~*]+/y;
const BARE_VALUE = /[^;,]*/y;

export function parseLinkFormat(input: Buffer | string): LinkFormatResult {
  const text = (typeof input === 'string' ? input : input.toString('utf8')).replace(/\0+$/, '');
  const links: CoreLink[] = [];
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  while (i < text.length) {
    skipSpace();
    if (text[i] !== '<') return { ok: false, error: `expected "<" at ${i}` };
    const end = text.indexOf('>', i);
    if (end < 0) return { ok: false, error: 'unterminated link target' };
    const link: CoreLink = { path: text.slice(i + 1, end), attributes: {} };
    i = end + 1;
    while (text[i] === ';') {
      i++;
      ATTRIBUTE_NAME.lastIndex = i;
      const nameMatch = ATTRIBUTE_NAME.exec(text);
      if (!nameMatch) return { ok: false, error: `expected attribute name at ${i}` };
      const name = nameMatch[0];
      i += name.length;
      if (text[i] !== '=') {
        link.attributes[name] = true;
        continue;
      }
      i++;
      if (text[i] === '"') {
        const close = text.indexOf('"', i + 1);
        if (close < 0) return { ok: false, error: 'unterminated quoted attribute value' };
        link.attributes[name] = text.slice(i + 1, close);
        i = close + 1;
      } else {
        BARE_VALUE.lastIndex = i;
        const valueMatch = BARE_VALUE.exec(text);
        const value = valueMatch?.[0] ?? '';
        link.attributes[name] = value;
        i += value.length;
      }
    }
    links.push(link);
    if (links.length > MAX_LINKS) return { ok: false, error: `more than ${MAX_LINKS} links` };
    skipSpace();
    if (i >= text.length) break;
    if (text[i] !== ',') return { ok: false, error: `expected "," at ${i}` };
    i++;
  }
  return { ok: true, links };
}
