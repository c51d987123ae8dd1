// The checks `promtool check metrics` (Prometheus 2.42) makes that /metrics once failed, as a function, so that
// the tests run them also where promtool is not installed.
import { parseExposition } from './prom-text.js';

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** The family a sample belongs to: its own name, or a histogram's or summary's name without the suffix. */
function familyOf(name: string, type: Map<string, string>): string {
  if (type.has(name)) return name;
  for (const [kind, suffixes] of Object.entries(SUFFIXES))
    for (const suffix of suffixes) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && type.get(base) === kind) return base;
    }
  return name;
}

/** Every problem found, one line each; empty when the text passes. */
export function lintExposition(text: string): string[] {
  const { help, type, samples } = parseExposition(text);
  const problems = new Set<string>();
  for (const [name, kind] of type) {
    if (name.endsWith('_total') && kind !== 'counter') problems.add(`${name}: a ${kind} must not end in _total`);
    if (kind === 'counter' && !name.endsWith('_total')) problems.add(`${name}: a counter must end in _total`);
    if (!help.get(name)) problems.add(`${name}: no HELP`);
  }
  for (const sample of samples) {
    const family = familyOf(sample.name, type);
    const kind = type.get(family);
    if (kind === undefined) problems.add(`${sample.name}: no TYPE`);
    if (!help.has(family)) problems.add(`${sample.name}: no HELP`);
    if ('quantile' in sample.labels && kind !== 'summary')
      problems.add(`${family}: a ${kind ?? 'metric'} must not have a "quantile" label`);
    if ('le' in sample.labels && kind !== 'histogram')
      problems.add(`${family}: a ${kind ?? 'metric'} must not have an "le" label`);
  }
  return [...problems];
}
