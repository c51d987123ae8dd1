// Optional `key=value` lines (framing: kv): `temp=21.5 hum=40 state=on` -> {temp: 21.5, hum: 40, state: "on"}.
// Only a line made entirely of pairs matches, so log text such as "booting, heap=4096 free" stays a log line.
import { exactNumber } from '../common/text-number.js';

const LINE = /^\s*[A-Za-z_][\w.-]*=("[^"]*"|[^\s,;"=]+)(?:[\s,;]+[A-Za-z_][\w.-]*=("[^"]*"|[^\s,;"=]+))*[\s,;]*$/;
const PAIR = /([A-Za-z_][\w.-]*)=("[^"]*"|[^\s,;"=]+)/g;

export function decodeKvLine(text: string): Record<string, unknown> | undefined {
  if (text.length > 1024 || !LINE.test(text)) return undefined;
  const values: Record<string, unknown> = {};
  for (const [, key, raw] of text.matchAll(PAIR)) {
    if (!key || raw === undefined || key === '__proto__') continue;
    values[key] = parseValue(raw);
  }
  return values;
}

function parseValue(raw: string): unknown {
  if (raw.startsWith('"')) return raw.slice(1, -1);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return exactNumber(raw) ?? raw;
}
