// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config syntax handled here
// `${VAR}` inside a flow collection (`- { type: mqtt, port: ${MQTT_PORT} }`): YAML reads its `{` as the start of a
// nested mapping, so the file did not parse at all, and quoting the reference made it text (a port must be a
// number). The text is parsed with the braces of each such reference written as parentheses, `$(MQTT_PORT)`: the
// same length, so every position the parser reports (error lines, key locations, edit splices) stays true; the
// scalars that hold one then get their written text back, and substitution types them as it types block values.
import {
  type Document,
  type DocumentOptions,
  isScalar,
  type ParseOptions,
  parseDocument,
  type SchemaOptions,
  visit,
} from 'yaml';

/** Offsets of the `{` and the `}` of each reference written with parentheses. */
export type Span = readonly [open: number, close: number];

export interface ShieldedText {
  /** The text to parse. */
  text: string;
  spans: Span[];
}

const INDICATORS_BEFORE_COLLECTION = new Set([':', '-', ',', '[', '{', '?']);

/** `text` with the braces of every `${...}` inside a flow collection (outside quotes and comments) as parentheses. */
export function shieldFlowReferences(text: string): ShieldedText {
  if (!text.includes('${')) return { text, spans: [] };
  const chars = text.split('');
  const spans: Span[] = [];
  let depth = 0;
  let quote: '"' | "'" | undefined;
  let comment = false;
  /** The last character that is not white space on this line, outside quotes and comments. */
  let significant: string | undefined;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    const before = i > 0 ? chars[i - 1] : '\n';
    if (c === '\n') {
      comment = false;
      significant = undefined;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (quote === '"' && c === '\\') i++;
      else if (c === quote) {
        if (quote === "'" && chars[i + 1] === "'") i++;
        else quote = undefined;
      }
      continue;
    }
    if (c === ' ' || c === '\t') continue;
    const tokenStart = before === ' ' || before === '\t' || before === '\n' || before === '[' || before === '{';
    if (c === '#' && (before === ' ' || before === '\t' || before === '\n')) {
      comment = true;
      continue;
    }
    if (
      (c === '"' || c === "'") &&
      tokenStart &&
      (significant === undefined || INDICATORS_BEFORE_COLLECTION.has(significant))
    ) {
      quote = c;
      continue;
    }
    if (c === '$' && chars[i + 1] === '{' && depth > 0) {
      const close = text.indexOf('}', i + 2);
      const newline = text.indexOf('\n', i + 2);
      if (close > 0 && (newline < 0 || close < newline)) {
        spans.push([i + 1, close]);
        chars[i + 1] = '(';
        chars[close] = ')';
        i = close;
        significant = ')';
        continue;
      }
    }
    if (
      (c === '{' || c === '[') &&
      before !== '$' &&
      (significant === undefined || INDICATORS_BEFORE_COLLECTION.has(significant))
    )
      depth++;
    else if ((c === '}' || c === ']') && depth > 0) depth--;
    significant = c;
  }
  return { text: spans.length > 0 ? chars.join('') : text, spans };
}

/** Gives the plain scalars of `doc` (parsed from the shielded text) that hold a shielded reference their written
 * text back, from `original`. */
export function restoreFlowReferences(doc: Document, original: string, spans: readonly Span[]): void {
  if (spans.length === 0) return;
  visit(doc, {
    Scalar(_key, node) {
      const range = node.range;
      if (!range || node.type !== 'PLAIN' || !isScalar(node)) return;
      if (spans.some(([open, close]) => open >= range[0] && close < range[1])) {
        node.value = original.slice(range[0], range[1]);
      }
    },
  });
}

/** parseDocument for config text: `${...}` in flow collections parse as they would in block style. */
export function parseConfigDocument(text: string, options?: ParseOptions & DocumentOptions & SchemaOptions): Document {
  const shielded = shieldFlowReferences(text);
  const doc = parseDocument(shielded.text, options);
  restoreFlowReferences(doc, text, shielded.spans);
  return doc;
}
