// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${...} is the config syntax named in hints
// Problems of the YAML document itself, before any key is checked: syntax, duplicate keys, several documents,
// tags the loader does not know, keys that are not plain values, and a file with nothing in it.
import {
  type Document,
  isCollection,
  isNode,
  isScalar,
  type LineCounter,
  type Node,
  type Pair,
  visit,
  type YAMLError,
  type YAMLMap,
} from 'yaml';
import { type ConfigIssue, formatPath } from './errors.js';
import { keyPath } from './locate.js';

export function yamlIssues(doc: Document, text: string, lineCounter: LineCounter): ConfigIssue[] {
  const issues = rootErrors(doc.errors).map((e) => {
    if (e.code === 'DUPLICATE_KEY') return duplicateKey(doc, e, lineCounter) ?? syntaxIssue(e, text, lineCounter);
    if (e.code === 'MULTIPLE_DOCS') return severalDocuments(e, lineCounter);
    if (e.code === 'TAB_AS_INDENT') return tabIssue(e, lineCounter);
    return syntaxIssue(e, text, lineCounter);
  });
  issues.push(...unknownTags(doc, lineCounter));
  if (issues.length > 0) return issues;
  const empty = emptyDocument(doc);
  return empty ? [empty] : complexKeys(doc, lineCounter);
}

/**
 * The errors to report: the parser reports a tab used as indentation and then, for it, errors about the mappings
 * around it ("Nested mappings are not allowed in compact mappings"...) that send the reader looking elsewhere;
 * and it often reports two errors at one place. So: with a tab, only the tabs (and the errors that are not syntax);
 * one error per place.
 */
function rootErrors(errors: readonly YAMLError[]): YAMLError[] {
  const independent = new Set(['TAB_AS_INDENT', 'DUPLICATE_KEY', 'MULTIPLE_DOCS']);
  const tab = errors.some((e) => e.code === 'TAB_AS_INDENT');
  const places = new Set<number>();
  return errors.filter((e) => {
    if (tab && !independent.has(e.code)) return false;
    if (places.has(e.pos[0])) return false;
    places.add(e.pos[0]);
    return true;
  });
}

function tabIssue(error: YAMLError, lineCounter: LineCounter): ConfigIssue {
  const pos = lineCounter.linePos(error.pos[0]);
  return {
    path: '',
    line: pos.line,
    column: pos.col,
    message: 'YAML syntax: a tab indents this line; YAML indents with spaces only',
    hint: `replace the tab at the start of line ${pos.line} with spaces, as many as the lines around it use`,
  };
}

function syntaxIssue(error: YAMLError, text: string, lineCounter: LineCounter): ConfigIssue {
  // An error at the end of the file (an unclosed `[`, `{` or quote) points at the end of the last line with
  // content, not at the empty line after it.
  const end = text.trimEnd().length;
  const atEnd = error.pos[0] >= end;
  const pos = lineCounter.linePos(Math.min(error.pos[0], end));
  return {
    path: '',
    line: pos.line,
    column: pos.col,
    message: `YAML syntax: ${(error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
    hint: atEnd
      ? 'the file ends before something was closed: check for a missing `]`, `}` or closing quote'
      : 'check indentation, quotes and the `key: value` form near this line',
  };
}

/** The key written twice in one mapping, with the line of its first occurrence. */
function duplicateKey(doc: Document, error: YAMLError, lineCounter: LineCounter): ConfigIssue | undefined {
  let issue: ConfigIssue | undefined;
  visit(doc, {
    Pair(_key, pair, ancestors) {
      const key = pair.key;
      if (!isScalar(key) || key.range?.[0] !== error.pos[0]) return;
      const map = ancestors.at(-1) as YAMLMap;
      const first = map.items.find((p) => isScalar(p.key) && p.key.value === key.value)?.key as Node | undefined;
      const firstLine = lineCounter.linePos(first?.range?.[0] ?? 0).line;
      const pos = lineCounter.linePos(error.pos[0]);
      const name = String(key.value);
      issue = {
        path: formatPath(keyPath([...ancestors, pair])),
        line: pos.line,
        column: pos.col,
        message: `duplicate key "${name}" (first on line ${firstLine}); YAML allows a key once per mapping`,
        hint: isCollection(pair.value) ? `merge the two \`${name}:\` blocks into one` : 'remove one of them',
      };
      return visit.BREAK;
    },
  });
  return issue;
}

function severalDocuments(error: YAMLError, lineCounter: LineCounter): ConfigIssue {
  const pos = lineCounter.linePos(error.pos[0]);
  return {
    path: '',
    line: pos.line,
    column: pos.col,
    message: 'the file has more than one YAML document (a stray `---`?)',
    hint: `remove the \`---\` on line ${pos.line}: the config is one document`,
  };
}

/** `!secret name`, `!env_var X` and other tags would otherwise be dropped with only a warning. */
function unknownTags(doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const tagged: Array<{ node: Node; chain: unknown[] }> = [];
  visit(doc, {
    Node(key, node, ancestors) {
      if (key !== 'key' && isNode(node) && node.tag) tagged.push({ node, chain: [...ancestors, node] });
    },
  });
  return doc.warnings
    .filter((w) => w.code === 'TAG_RESOLVE_FAILED')
    .map((warning) => {
      const tag = /Unresolved tag: (\S+)/.exec(warning.message)?.[1] ?? '';
      const at = tagged.find(({ node }) => node.tag === tag && (node.range?.[0] ?? -1) >= warning.pos[0]);
      const pos = lineCounter.linePos(warning.pos[0]);
      const name = tag.replace(/^tag:yaml\.org,2002:/, '!!');
      return {
        path: at ? formatPath(keyPath(at.chain)) : '',
        line: pos.line,
        column: pos.col,
        message: `unsupported YAML tag ${name}`,
        hint: name.startsWith('!!')
          ? `remove ${name}: the value does not have that type`
          : `use \${file:/path} or \${VAR} instead of ${name} (the value would be read as plain text)`,
      };
    });
}

/** An empty or comment-only file: most often one an editor is still writing. */
function emptyDocument(doc: Document): ConfigIssue | undefined {
  const contents = doc.contents;
  if (contents !== null && !(isScalar(contents) && contents.value === null)) return undefined;
  return {
    path: '',
    message: 'the file is empty (an editor still writing it?); a running gateway keeps its config',
    hint: 'write at least `version: 1` to run with every default',
  };
}

function complexKeys(doc: Document, lineCounter: LineCounter): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  visit(doc, {
    Pair(_key, pair: Pair) {
      if (pair.key === null || isScalar(pair.key)) return;
      const offset = isNode(pair.key) ? pair.key.range?.[0] : undefined;
      const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
      issues.push({
        path: '',
        line: pos?.line,
        column: pos?.col,
        message: 'a mapping key must be a plain value, not a list or mapping',
        hint: 'a `{` or `[` where a key is expected; check brackets and indentation',
      });
    },
  });
  return issues;
}
