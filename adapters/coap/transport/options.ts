// CoAP option value codecs (RFC 7252 §3.2 uint, RFC 7959 §2.2 block options).

/** The uint in bytes[start, end), read in place (no subarray). */
export function readUint(bytes: Buffer, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 256 + bytes[i]!;
  return n;
}

export function encodeUint(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  let rest = n;
  while (rest > 0) {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  }
  return Buffer.from(bytes);
}

export interface BlockOption {
  num: number;
  more: boolean;
  /** Size exponent: block size = 2 ** (szx + 4), 0..6. */
  szx: number;
}

export function blockSize(szx: number): number {
  return 2 ** (szx + 4);
}

/** Largest SZX whose block size is <= size (16..1024). */
export function szxForSize(size: number): number {
  let szx = 6;
  while (szx > 0 && blockSize(szx) > size) szx--;
  return szx;
}

/** The block option with uint value n; undefined for the reserved SZX 7. */
export function blockOf(n: number): BlockOption | undefined {
  const szx = n & 0x7;
  if (szx === 7) return undefined;
  return { num: Math.floor(n / 16), more: (n & 0x8) !== 0, szx };
}

export function encodeBlock(block: BlockOption): Buffer {
  return encodeUint(block.num * 16 + (block.more ? 8 : 0) + block.szx);
}
