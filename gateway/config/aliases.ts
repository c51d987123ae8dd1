// The document as plain data. Resolving `*alias` references can fail (an alias before its anchor, or an
// exponential "billion laughs" expansion); that is a config error located at the alias, not a crash.
import { type Alias, type Document, isCollection, type LineCounter, visit } from 'yaml';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { keyPath } from './locate.js';

/**
 * Expanded alias nodes allowed (yaml counts each use of an anchor times the aliases inside it). The library
 * default of 100 would refuse a few hundred device entries sharing `<<: *defaults`; an exponential expansion
 * still goes past this within a few levels.
 */
const MAX_ALIAS_EXPANSIONS = 10_000;

export function documentToJS(doc: Document, file: string, lineCounter: LineCounter): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    throw new ConfigError(file, [aliasIssue(doc, lineCounter, err)]);
  }
}

function aliasIssue(doc: Document, lineCounter: LineCounter, err: unknown): ConfigIssue {
  const aliases: Array<{ alias: Alias; chain: unknown[] }> = [];
  visit(doc, {
    Alias(_key, alias, ancestors) {
      aliases.push({ alias, chain: [...ancestors, alias] });
    },
  });
  const at = (found: { alias: Alias; chain: unknown[] }) => {
    const pos = lineCounter.linePos(found.alias.range?.[0] ?? 0);
    return { path: formatPath(keyPath(found.chain)), line: pos.line, column: pos.col };
  };
  const unresolved = aliases.find(({ alias }) => alias.resolve(doc) === undefined);
  if (unresolved) {
    const name = unresolved.alias.source;
    return {
      ...at(unresolved),
      message: `*${name} refers to no anchor &${name} before it`,
      hint: `put \`&${name}\` on the value to repeat, above its first \`*${name}\``,
    };
  }
  // Aliases inside anchored collections are what multiplies the expansion.
  const nested = aliases.find(({ alias }) => {
    const source = alias.resolve(doc);
    let inner = false;
    if (isCollection(source))
      visit(source, {
        Alias() {
          inner = true;
          return visit.BREAK;
        },
      });
    return inner;
  });
  const first = nested ?? aliases[0];
  const message = err instanceof Error ? err.message : String(err);
  if (first && /alias count/i.test(message)) {
    return {
      ...at(first),
      message: 'the aliases expand to too many values (anchors nested in anchors, a "billion laughs" file?)',
      hint: 'write the repeated values out, or nest `*alias` references less deeply',
    };
  }
  return { ...(first ? at(first) : { path: '' }), message: `YAML: ${message}` };
}
