// Maps key paths of the parsed config to nodes, lines and columns of the YAML source, and back.
import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export interface SourcePos {
  line: number;
  col: number;
}

/** Position of the deepest node that exists along `path` (the key itself when the path ends on a key). */
export function locate(doc: Document, lineCounter: LineCounter, path: readonly string[]): SourcePos | undefined {
  const offset = walk(doc, path).found?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

/** The value node at `path`, when every key along it is written in the source (no alias or merge between). */
export function nodeAt(doc: Document, path: readonly string[]): Node | undefined {
  const { node, complete } = walk(doc, path);
  return complete ? (node as Node | undefined) : undefined;
}

function walk(doc: Document, path: readonly string[]) {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  let complete = true;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === key);
      if (!pair) {
        complete = false;
        break;
      }
      found = (pair.key as Node | null) ?? found;
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(key)];
      if (!item) {
        complete = false;
        break;
      }
      node = item;
      found = item as Node;
    } else {
      complete = false;
      break;
    }
  }
  return { node, found, complete };
}

/** The key path of the last element of `chain` (a node and its ancestors from yaml's visit(), root first). */
export function keyPath(chain: readonly unknown[]): string[] {
  const out: string[] = [];
  chain.forEach((step, i) => {
    const child = chain[i + 1];
    if (isPair(step)) out.push(String(isScalar(step.key) ? step.key.value : step.key));
    else if (isSeq(step) && child !== undefined) out.push(String(step.items.indexOf(child)));
  });
  return out;
}
