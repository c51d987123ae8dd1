// Builds MCUboot images the way imgtool lays them out, for tests: 32-byte header (padded to hdrSize), body,
// optional protected TLV area (0x6908), TLV area (0x6907) with the SHA-256 of header + body + protected TLVs.
import { createHash } from 'node:crypto';

export interface ImageSpec {
  body: Uint8Array;
  version?: [major: number, minor: number, revision: number, build: number];
  hdrSize?: number;
  loadAddr?: number;
  flags?: number;
  /** Entries of a protected TLV area (e.g. a security counter, type 0x50). */
  protectedTlvs?: { type: number; value: Uint8Array }[];
  /** Leave out the SHA256 TLV. */
  noSha?: boolean;
  /** Extra unprotected TLVs after the hash (e.g. a key hash 0x01). */
  tlvs?: { type: number; value: Uint8Array }[];
}

export function tlvArea(magic: number, entries: { type: number; value: Uint8Array }[]): Buffer {
  const parts = entries.map((e) => {
    const head = Buffer.alloc(4);
    head.writeUInt16LE(e.type, 0);
    head.writeUInt16LE(e.value.length, 2);
    return Buffer.concat([head, e.value]);
  });
  const info = Buffer.alloc(4);
  info.writeUInt16LE(magic, 0);
  info.writeUInt16LE(4 + parts.reduce((n, p) => n + p.length, 0), 2);
  return Buffer.concat([info, ...parts]);
}

export function buildImage(spec: ImageSpec): Buffer {
  const hdrSize = spec.hdrSize ?? 32;
  const prot = spec.protectedTlvs ? tlvArea(0x6908, spec.protectedTlvs) : Buffer.alloc(0);
  const header = Buffer.alloc(hdrSize);
  const [major, minor, revision, build] = spec.version ?? [1, 2, 3, 0];
  header.writeUInt32LE(0x96f3b83d, 0);
  header.writeUInt32LE(spec.loadAddr ?? 0, 4);
  header.writeUInt16LE(hdrSize, 8);
  header.writeUInt16LE(prot.length, 10);
  header.writeUInt32LE(spec.body.length, 12);
  header.writeUInt32LE(spec.flags ?? 0, 16);
  header.writeUInt8(major, 20);
  header.writeUInt8(minor, 21);
  header.writeUInt16LE(revision, 22);
  header.writeUInt32LE(build, 24);
  const hashed = Buffer.concat([header, spec.body, prot]);
  const sha = createHash('sha256').update(hashed).digest();
  const entries = [...(spec.noSha ? [] : [{ type: 0x10, value: sha }]), ...(spec.tlvs ?? [])];
  return Buffer.concat([hashed, tlvArea(0x6907, entries)]);
}

export function imageHashOf(image: Buffer, protectedLength = 0): Buffer {
  const hdrSize = image.readUInt16LE(8);
  const end = hdrSize + image.readUInt32LE(12) + protectedLength;
  return createHash('sha256').update(image.subarray(0, end)).digest();
}
