// Onboarding edits of the config file. Each edit splices text at the source ranges the parser reports, so
// everything outside the edited device entry stays byte for byte as the user wrote it: re-serialising the
// whole document would re-indent comments, fold long flow mappings and rewrite 0x0001 as 0x1.
// Values come from MQTT clients: every `${` in them is written as `$${` so that they load back as sent, and a
// client cannot make the loader read a file or environment variable into bridge/devices.
import { isDeepStrictEqual } from 'node:util';
import { type Document, isMap, isScalar, isSeq, type Node, stringify, type YAMLMap } from 'yaml';
import { parseConfigDocument } from './flow-references.js';
import { isPlainObject, mergeOptions } from './merge-options.js';
import { escapeReferences } from './substitute.js';

export class ConfigEditError extends Error {}

type Splice = { from: number; to: number; text: string };

/** The current text of every document parseForEdit returned; each edit replaces it. */
const sources = new WeakMap<Document, string>();

export function parseForEdit(text: string): Document {
  const doc = parseConfigDocument(text);
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

function listOf(doc: Document, key: string) {
  const text = editedText(doc);
  const pair = (doc.contents as YAMLMap | null)?.items.find((p) => isScalar(p.key) && p.key.value === key);
  const seq = isSeq(pair?.value) ? pair.value : undefined;
  return { text, pair, seq, items: (seq?.items ?? []) as Node[] };
}

function devicesOf(doc: Document) {
  return listOf(doc, 'devices');
}

function indexOf(items: Node[], id: string): number {
  return items.findIndex((item) => {
    if (!isMap(item)) return false;
    const v = item.get('id', true);
    return isScalar(v) && String(v.value) === id;
  });
}

function listJS(doc: Document, key: string): unknown[] {
  const list = (doc.toJS() as Record<string, unknown> | null)?.[key];
  return Array.isArray(list) ? list : [];
}

function devicesJS(doc: Document): unknown[] {
  return listJS(doc, 'devices');
}

/** Applies the splices, and keeps the result only if it parses to the same config with `devices` replaced. */
function commit(doc: Document, text: string, splices: Splice[], devices: unknown[]): void {
  commitAs(doc, text, splices, { ...(doc.toJS() as object | null), devices });
}

/** Applies the splices, and keeps the result only if it parses to `expected`: nothing else changed. */
function commitAs(doc: Document, text: string, splices: Splice[], expected: unknown): void {
  let next = text;
  // From the end, so that earlier offsets stay valid; of two insertions at one offset, the later one first, so that
  // the text ends up in the order the splices were made.
  const order = splices
    .map((splice, index) => ({ splice, index }))
    .sort((a, b) => b.splice.from - a.splice.from || b.index - a.index);
  for (const { splice: s } of order) next = next.slice(0, s.from) + s.text + next.slice(s.to);
  const check = parseConfigDocument(next);
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
  if (indexOf(devicesOf(doc).items, id) >= 0) throw new ConfigEditError(`device "${id}" already exists`);
  appendEntries(doc, 'devices', [entry]);
}

/** Adds entries to the top-level `blocklist` (created at the end of the file when missing); those it has stay once. */
export function addBlocklistEntries(doc: Document, proposed: readonly Record<string, unknown>[]): void {
  const current = listJS(doc, 'blocklist');
  const fresh = (escapeReferences(proposed) as Record<string, unknown>[]).filter(
    (entry) => !current.some((have) => isDeepStrictEqual(have, entry)),
  );
  if (fresh.length > 0) appendEntries(doc, 'blocklist', fresh);
}

/** Appends entries to the top-level list `key`, in the list's own style (block or flow), creating the key if need be. */
function appendEntries(doc: Document, key: string, entries: readonly Record<string, unknown>[]): void {
  const { text, pair, seq, items } = listOf(doc, key);
  const eol = eolOf(text);
  const last = items.at(-1);
  const splices: Splice[] = [];
  if (seq && last?.range) {
    const [start, end] = last.range;
    if (seq.flow) splices.push({ from: end, to: end, text: entries.map((e) => `, ${flowEntry(e)}`).join('') });
    else {
      const indent = indentAt(text, start);
      splices.push(insertLines(text, end, entries.map((e) => blockEntry(e, indent, eol)).join('')));
    }
  } else if (pair && isScalar(pair.key) && pair.key.range) {
    const value = pair.value;
    if (value !== null && !isSeq(value) && !(isScalar(value) && value.value === null))
      throw new ConfigEditError(`"${key}" in the config file is not a list`);
    const keyEnd = pair.key.range[1];
    const [from, to] = (value as Node | null)?.range ?? [keyEnd, keyEnd];
    // `devices: []` (or `~`) becomes a block list. Comments after it stay where they are.
    if (to > from) splices.push({ from: text.slice(0, from).trimEnd().length, to, text: '' });
    const indent = indentAt(text, pair.key.range[0]) + 2;
    splices.push(insertLines(text, to, entries.map((e) => blockEntry(e, indent, eol)).join('')));
  } else {
    const lines = entries.map((e) => blockEntry(e, 2, eol)).join('');
    splices.push(insertLines(text, text.length, `${key}:${eol}${lines}`));
  }
  commitAs(doc, text, splices, { ...(doc.toJS() as object | null), [key]: [...listJS(doc, key), ...entries] });
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

/** The text of a value written in place of another (or as a new key) inside a device entry: one line. */
function inlineValue(value: unknown, inFlow: boolean): string {
  return typeof value === 'string' ? scalarText(value, inFlow) : flowEntry(value);
}

/**
 * Sets `key` of one device entry to `valueText` (already escaped and inline): replaces the value where the key is,
 * else adds the key at the end of the entry.
 */
function setKey(text: string, item: YAMLMap, key: string, valueText: string, splices: Splice[]): void {
  const pair = item.items.find((p) => isScalar(p.key) && p.key.value === key);
  const keyRange = (pair?.key as Node | undefined)?.range;
  const valueRange = (pair?.value as Node | null | undefined)?.range;
  if (pair && keyRange) {
    // From just after the colon to the end of the value, so that a block collection becomes an inline one.
    const colon = text.indexOf(':', keyRange[1]) + 1;
    const end = valueRange ? valueRange[1] : colon;
    const trailing = end > colon && text[end - 1] === '\n' && !item.flow ? eolOf(text) : '';
    splices.push({ from: colon, to: end, text: ` ${valueText}${trailing}` });
  } else if (item.flow) {
    const last = item.items.at(-1)!;
    const at = ((last.value ?? last.key) as Node).range![1];
    splices.push({ from: at, to: at, text: `, ${key}: ${valueText}` });
  } else {
    const [start, end] = item.range!;
    const indent = ' '.repeat(start - lineStart(text, start)); // the column of the entry's first key
    splices.push(insertLines(text, end, `${indent}${key}: ${valueText}${eolOf(text)}`));
  }
}

/** Removes `key` (and its value) from one device entry; nothing when it is not there. */
function deleteKey(text: string, item: YAMLMap, key: string, splices: Splice[]): void {
  const index = item.items.findIndex((p) => isScalar(p.key) && p.key.value === key);
  const pair = item.items[index];
  const keyRange = (pair?.key as Node | undefined)?.range;
  if (!pair || !keyRange) return;
  const end = (pair.value as Node | null)?.range?.[1] ?? text.indexOf(':', keyRange[1]) + 1;
  if (!item.flow) {
    splices.push({ from: lineStart(text, keyRange[0]), to: nextLine(text, end), text: '' });
    return;
  }
  const next = item.items[index + 1];
  const previous = item.items[index - 1];
  // Take a separating comma along: the one after the pair, or for the last one the one before it.
  if (next) splices.push({ from: keyRange[0], to: (next.key as Node).range![0], text: '' });
  else if (previous) {
    const from = ((previous.value ?? previous.key) as Node).range![1];
    splices.push({ from, to: end, text: '' });
  } else splices.push({ from: keyRange[0], to: end, text: '' });
}

/**
 * Merges `options` into a device entry (mergeOptions: objects key by key, null removes) other than its id and
 * transport; comments and formatting outside the changed keys stay. A changed collection is written inline
 * (`resources: { temp: { path: /t } }`).
 */
export function setDeviceOptions(doc: Document, id: string, options: Record<string, unknown>): void {
  const { text, items } = devicesOf(doc);
  const i = indexOf(items, id);
  if (i < 0) throw new ConfigEditError(`unknown device "${id}"`);
  for (const key of ['id', 'transport'])
    if (key in options) throw new ConfigEditError(`"${key}" cannot be changed here (device/rename changes the id)`);
  const item = items[i] as YAMLMap;
  if (!isMap(item)) throw new ConfigEditError(`device "${id}" is not a mapping in the config file`);
  const devices = devicesJS(doc) as Record<string, unknown>[];
  const before = devices[i] ?? {};
  const entry = mergeOptions(before, escapeReferences(options) as Record<string, unknown>);
  const splices: Splice[] = [];
  for (const key of Object.keys(options)) {
    if (!(key in entry)) deleteKey(text, item, key, splices);
    else if (!isDeepStrictEqual(entry[key], before[key]))
      setKey(text, item, key, inlineValue(entry[key], item.flow === true), splices);
  }
  devices[i] = entry;
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
  const set = (key: string, value: string) =>
    setKey(text, item, key, scalarText(escapeReferences(value) as string, item.flow === true), splices);
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

/** Keys bridge/request/options leaves alone (the device requests own `devices`), with what changes them instead. */
const NOT_OPTIONS = {
  devices: 'device/add, device/remove, device/rename and device/options change the devices',
  version: 'it says which format the file is written in, not a setting',
};

/**
 * Merges `options` into the config (mergeOptions: objects key by key, null removes), as Zigbee2MQTT's
 * bridge/request/options: each changed value is written where it stands, a missing section or key is added inline
 * in the nearest mapping that exists, and everything else in the file stays as written.
 */
export function setOptions(doc: Document, options: Record<string, unknown>): void {
  for (const [key, instead] of Object.entries(NOT_OPTIONS))
    if (key in options) throw new ConfigEditError(`"${key}" cannot be changed with options: ${instead}`);
  const text = editedText(doc);
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigEditError('the config file is not a mapping of sections');
  const escaped = escapeReferences(options) as Record<string, unknown>;
  const splices: Splice[] = [];
  const current = (doc.toJS() ?? {}) as Record<string, unknown>;
  mergeInto(text, root, current, escaped, splices);
  commitAs(doc, text, splices, mergeOptions(current, escaped));
}

/** Writes `patch` into the mapping `map` (whose value is `current`), descending into mappings that exist. */
function mergeInto(
  text: string,
  map: YAMLMap,
  current: Record<string, unknown>,
  patch: Record<string, unknown>,
  splices: Splice[],
): void {
  for (const [key, value] of Object.entries(patch)) {
    const before = current[key];
    if (value === null) {
      deleteKey(text, map, key, splices);
      continue;
    }
    const node = map.get(key, true);
    if (isPlainObject(value) && isMap(node) && isPlainObject(before)) {
      mergeInto(text, node, before, value, splices);
      continue;
    }
    const next = isPlainObject(value) && isPlainObject(before) ? mergeOptions(before, value) : value;
    if (!isDeepStrictEqual(next, before)) setKey(text, map, key, inlineValue(next, map.flow === true), splices);
  }
}
