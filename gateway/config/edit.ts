// Onboarding edits of the config file through the `yaml` Document API, so comments, key order and
// formatting of everything else stay as the user wrote them.
import { type Document, isMap, isScalar, isSeq, parseDocument, type YAMLMap, type YAMLSeq } from 'yaml';

export class ConfigEditError extends Error {}

export function parseForEdit(text: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new ConfigEditError(`the config file has YAML errors: ${doc.errors[0]?.message}`);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  if (!isMap(doc.contents)) throw new ConfigEditError('the config file is not a mapping');
  return doc;
}

function devicesSeq(doc: Document, create: boolean): YAMLSeq | undefined {
  const root = doc.contents as YAMLMap;
  const existing = root.get('devices', true);
  if (isSeq(existing)) {
    // `devices: []` in the example: switch to block style once it gets entries.
    if (existing.items.length === 0) existing.flow = false;
    return existing;
  }
  if (!create) return undefined;
  const seq = doc.createNode([]) as YAMLSeq;
  seq.flow = false;
  root.set('devices', seq);
  return seq;
}

function indexOf(seq: YAMLSeq | undefined, id: string): number {
  if (!seq) return -1;
  return seq.items.findIndex((item) => {
    if (!isMap(item)) return false;
    const v = item.get('id', true);
    return isScalar(v) && String(v.value) === id;
  });
}

export function addDevice(doc: Document, entry: Record<string, unknown>): void {
  const id = String(entry.id);
  const seq = devicesSeq(doc, true) as YAMLSeq;
  if (indexOf(seq, id) >= 0) throw new ConfigEditError(`device "${id}" already exists`);
  const node = doc.createNode(entry) as YAMLMap;
  node.flow = false;
  seq.items.push(node);
}

export function removeDevice(doc: Document, id: string): void {
  const seq = devicesSeq(doc, false);
  const i = indexOf(seq, id);
  if (!seq || i < 0) throw new ConfigEditError(`unknown device "${id}"`);
  seq.items.splice(i, 1);
}

/** Changes a device's id (its topic) and/or its display name. */
export function renameDevice(doc: Document, id: string, change: { to?: string; name?: string }): void {
  const seq = devicesSeq(doc, false);
  const i = indexOf(seq, id);
  if (!seq || i < 0) throw new ConfigEditError(`unknown device "${id}"`);
  if (change.to !== undefined && change.to !== id && indexOf(seq, change.to) >= 0)
    throw new ConfigEditError(`device "${change.to}" already exists`);
  const item = seq.items[i] as YAMLMap;
  if (change.to !== undefined) item.set('id', change.to);
  if (change.name !== undefined) item.set('name', change.name);
}
