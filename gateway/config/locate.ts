// Maps a key path of the parsed config back to a line and column of the YAML source.
import { type Document, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export interface SourcePos {
  line: number;
  col: number;
}

/** Position of the deepest node that exists along `path` (the key itself when the path ends on a key). */
export function locate(doc: Document, lineCounter: LineCounter, path: readonly string[]): SourcePos | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) break;
      found = (pair.key as Node | null) ?? found;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (!item) break;
      node = item;
      found = item as Node;
    } else break;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}
