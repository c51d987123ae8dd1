// RFC 6690 §4.1 query filtering of a CoRE link list: `?rt=core.ps`, `?href=/ps*`, `?ct=50`. A value ending in `*`
// matches by prefix; an attribute holding a space-separated list (rt, if, ct) matches when one of its values does.
// Several filters must all match (RFC 6690 defines one; libcoap and Zephyr take the first, so this is a superset).
import type { CoreLink } from './link-format.js';

export function filterLinks(links: readonly CoreLink[], query: readonly string[]): CoreLink[] {
  const filters = query.map(parseFilter);
  return links.filter((link) => filters.every((f) => f(link)));
}

export function formatLinks(links: readonly CoreLink[]): string {
  return links
    .map(({ path, attributes }) =>
      [`<${path}>`, ...Object.entries(attributes).map(([k, v]) => (v === true ? k : `${k}="${v}"`))].join(';'),
    )
    .join(',');
}

function parseFilter(item: string): (link: CoreLink) => boolean {
  const at = item.indexOf('=');
  if (at < 0) return (link) => attribute(link, item) !== undefined;
  const name = item.slice(0, at);
  const matches = valueMatcher(item.slice(at + 1));
  if (name === 'href') return (link) => matches(link.path);
  return (link) => {
    const value = attribute(link, name);
    if (value === undefined) return false;
    if (value === true) return matches('');
    return matches(value) || value.split(' ').some(matches);
  };
}

/** The link's own attribute: a query naming `toString` or `constructor` must not find Object.prototype's. */
function attribute(link: CoreLink, name: string): string | true | undefined {
  return Object.hasOwn(link.attributes, name) ? link.attributes[name] : undefined;
}

function valueMatcher(wanted: string): (value: string) => boolean {
  if (!wanted.endsWith('*')) return (value) => value === wanted;
  const prefix = wanted.slice(0, -1);
  return (value) => value.startsWith(prefix);
}
