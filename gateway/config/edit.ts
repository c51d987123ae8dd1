// Onboarding edits of the config file. Each edit splices text at the source ranges the parser reports, so
// everything outside the edited device entry stays byte for byte as the user wrote it: re-serialising the
// whole document would re-indent comments, fold long flow mappings and rewrite 0x0001 as 0x1.
// Values come from MQTT clients: every `${` in them is written as `$${` so that they load back as sent, and a
// client cannot make the loader read a file or environment variable into bridge/devices.
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isScalar, isSeq, type Node, parseDocument, stringify, type YAMLMap } from 'yaml';
import { escapeReferences } from './substitute.js';

export class ConfigEditError extends Error {}

type Splice = { from: number; to: number; text: string };

/** The current text of every document parseForEdit returned; each edit replaces it. */
const sources = new WeakMap<Document, string>();

export function parseForEdit(text: string): Document {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new ConfigEditError(`the config file has YAML errors: ${doc.errors[0]?.message}`);
  if (doc.contents !== null && !isMap(doc.contents)) throw new ConfigEditError('the config file is not a mapping');
  sources.set(doc, text);
  return doc;
}

/** The file to write: the text given to parseForEdit with the edits spliced in. */
export function editedText(doc: Document): string {
  const text = sources.get(doc);
  if (text === undefined) throw new ConfigEditError('the document was not opened with parseForEdit');
  return text;
}

function devicesOf(doc: Document) {
  const text = editedText(doc);
  const pair = (doc.contents as YAMLMap | null)?.items.find((p) => isScalar(p.key) && p.key.value === 'devices');
  const seq = isSeq(pair?.value) ? pair.value : undefined;
  return { text, pair, seq, items: (seq?.items ?? []) as Node[] };
}

function indexOf(items: Node[], id: string): number {
  return items.findIndex((item) => {
    if (!isMap(item)) return false;
    const v = item.get('id', true);
    return isScalar(v) && String(v.value) === id;
  });
}

function devicesJS(doc: Document): unknown[] {
  const devices = (doc.toJS() as { devices?: unknown } | null)?.devices;
  return Array.isArray(devices) ? devices : [];
}

/** Applies the splices, and keeps the result only if it parses to the same config with `devices` replaced. */
function commit(doc: Document, text: string, splices: Splice[], devices: unknown[]): void {
  let next = text;
  for (const s of splices.sort((a, b) => b.from - a.from)) next = next.slice(0, s.from) + s.text + next.slice(s.to);
  const check = parseDocument(next);
  const expected = { ...(doc.toJS() as object | null), devices };
  if (check.errors.length > 0 || !isDeepStrictEqual(toJSOrUndefined(check), expected))
    throw new ConfigEditError('could not edit the config file without changing other parts of it; edit it by hand');
  sources.set(doc, next);
  doc.contents = check.contents;
}

/** Undefined when aliases cannot be resolved, e.g. the entry holding an anchor was removed. */
function toJSOrUndefined(doc: Document): unknown {
  try {
    return doc.toJS();
  } catch {
    return undefined;
  }
}

const eolOf = (text: string) => (text.includes('\r\n') ? '\r\n' : '\n');
const lineStart = (text: string, pos: number) => text.lastIndexOf('\n', pos - 1) + 1;
const indentAt = (text: string, pos: number) => /^ */.exec(text.slice(lineStart(text, pos)))![0].length;

/** Start of the line after the one `pos` is on (a range that ends with its newline already is there). */
function nextLine(text: string, pos: number): number {
  if (pos > 0 && text[pos - 1] === '\n') return pos;
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl + 1;
}

function insertLines(text: string, pos: number, lines: string): Splice {
  const at = nextLine(text, pos);
  return { from: at, to: at, text: at > 0 && text[at - 1] !== '\n' ? eolOf(text) + lines : lines };
}

/** `- key: value` lines of one block sequence entry. */
function blockEntry(entry: unknown, indent: number, eol: string): string {
  const lines = stringify([entry], { lineWidth: 0 }).trimEnd().split('\n');
  return lines.map((line) => (line ? ' '.repeat(indent) + line : line)).join(eol) + eol;
}

function flowEntry(entry: unknown): string {
  const text = stringify(entry, { collectionStyle: 'flow' }).trimEnd();
  return text.includes('\n') ? JSON.stringify(entry) : text; // long flow mappings come out over several lines
}

function scalarText(value: string, inFlow: boolean): string {
  const text = stringify(value, { lineWidth: 0 }).trimEnd();
  // A multi-line block scalar does not fit in place, and a plain scalar inside `{ }` may not hold , [ ] { }.
  // A JSON string is a valid double-quoted YAML scalar.
  return text.includes('\n') || (inFlow && /[,[\]{}]/.test(text)) ? JSON.stringify(value) : text;
}

export function addDevice(doc: Document, proposed: Record<string, unknown>): void {
  const entry = escapeReferences(proposed) as Record<string, unknown>;
  const id = String(proposed.id);
  const { text, pair, seq, items } = devicesOf(doc);
  if (indexOf(items, id) >= 0) throw new ConfigEditError(`device "${id}" already exists`);
  const eol = eolOf(text);
  const last = items.at(-1);
  const splices: Splice[] = [];
  if (seq && last?.range) {
    const [start, end] = last.range;
    if (seq.flow) splices.push({ from: end, to: end, text: `, ${flowEntry(entry)}` });
    else splices.push(insertLines(text, end, blockEntry(entry, indentAt(text, start), eol)));
  } else if (pair && isScalar(pair.key) && pair.key.range) {
    const value = pair.value;
    if (value !== null && !isSeq(value) && !(isScalar(value) && value.value === null))
      throw new ConfigEditError('"devices" in the config file is not a list');
    const keyEnd = pair.key.range[1];
    const [from, to] = (value as Node | null)?.range ?? [keyEnd, keyEnd];
    // `devices: []` (or `~`) becomes a block list. Comments after it stay where they are.
    if (to > from) splices.push({ from: text.slice(0, from).trimEnd().length, to, text: '' });
    splices.push(insertLines(text, to, blockEntry(entry, indentAt(text, pair.key.range[0]) + 2, eol)));
  } else {
    splices.push(insertLines(text, text.length, `devices:${eol}${blockEntry(entry, 2, eol)}`));
  }
  commit(doc, text, splices, [...devicesJS(doc), entry]);
}

export function removeDevice(doc: Document, id: string): void {
  const { text, pair, seq, items } = devicesOf(doc);
  const i = indexOf(items, id);
  const range = items[i]?.range;
  if (!pair || !seq?.range || !range) throw new ConfigEditError(`unknown device "${id}"`);
  const [start, end] = range;
  const splices: Splice[] = [];
  if (seq.flow) {
    if (items.length === 1) splices.push({ from: seq.range[0], to: seq.range[1], text: '[]' });
    // Take a separating comma along: the one after the entry, or for the last one the one before it.
    else if (i + 1 < items.length) splices.push({ from: start, to: items[i + 1]!.range![0], text: '' });
    else splices.push({ from: items[i - 1]!.range![1], to: end, text: '' });
  } else {
    // Only the entry's own lines: comments after it belong to the next entry or key.
    splices.push({ from: lineStart(text, start), to: nextLine(text, end), text: '' });
    if (items.length === 1) {
      const colon = text.indexOf(':', (pair.key as Node).range![1]) + 1;
      splices.push({ from: colon, to: colon, text: ' []' });
    }
  }
  const devices = devicesJS(doc);
  devices.splice(i, 1);
  commit(doc, text, splices, devices);
}

/** Changes a device's id (its topic) and/or its display name. */
export function renameDevice(doc: Document, id: string, change: { to?: string; name?: string }): void {
  const { text, items } = devicesOf(doc);
  const i = indexOf(items, id);
  if (i < 0) throw new ConfigEditError(`unknown device "${id}"`);
  if (change.to !== undefined && change.to !== id && indexOf(items, change.to) >= 0)
    throw new ConfigEditError(`device "${change.to}" already exists`);
  const item = items[i] as YAMLMap;
  const splices: Splice[] = [];
  const set = (key: string, value: string) => {
    const scalar = scalarText(escapeReferences(value) as string, item.flow === true);
    const range = (item.get(key, true) as Node | undefined)?.range;
    if (range) {
      const [from, to] = range;
      splices.push({ from, to, text: text[from - 1] === ':' ? ` ${scalar}` : scalar }); // `name:` with no value
    } else if (item.flow) {
      const last = item.items.at(-1)!;
      const at = ((last.value ?? last.key) as Node).range![1];
      splices.push({ from: at, to: at, text: `, ${key}: ${scalar}` });
    } else {
      const [start, end] = item.range!;
      const indent = ' '.repeat(start - lineStart(text, start)); // the column of the entry's first key
      splices.push(insertLines(text, end, `${indent}${key}: ${scalar}${eolOf(text)}`));
    }
  };
  const renamed = change.to !== undefined && change.to !== id;
  if (renamed) set('id', change.to as string);
  if (change.name !== undefined) set('name', change.name);
  // A CoAP device names itself in /ps/<id> from its firmware: it keeps doing so after the rename.
  const keepsPathId = renamed && item.get('transport') === 'coap' && !item.has('ps_id');
  if (keepsPathId) set('ps_id', id);
  const devices = devicesJS(doc) as Record<string, unknown>[];
  devices[i] = {
    ...devices[i],
    ...(change.to !== undefined ? { id: escapeReferences(change.to) } : {}),
    ...(change.name !== undefined ? { name: escapeReferences(change.name) } : {}),
    ...(keepsPathId ? { ps_id: escapeReferences(id) } : {}),
  };
  commit(doc, text, splices, devices);
}
