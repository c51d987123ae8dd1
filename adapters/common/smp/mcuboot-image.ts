// Reads what an SMP image upload needs from an MCUboot image file (imgtool output): the version and the image
// hash TLV (SHA-256, or SHA-384 / SHA-512 when MCUboot is built for them), which is the hash img_mgmt lists in
// its image state. Layout from mcuboot's bootutil/image.h (little-endian):
//   header  magic u32 0x96f3b83d | load_addr u32 | hdr_size u16 | protect_tlv_size u16 | img_size u32 | flags u32
//           | version: major u8, minor u8, revision u16, build u32 | pad u32
//   body    at hdr_size, img_size bytes
//   TLVs    at hdr_size + img_size: protected area (info magic 0x6908, only when protect_tlv_size > 0), then the
//           TLV area (info magic 0x6907); each area = info {magic u16, tlv_tot u16 (includes the info)} + entries
//           {type u16, len u16, value}
import { type DecodeResult, fail, ok } from './result.js';

export const MCUBOOT_IMAGE_MAGIC = 0x96f3b83d;
export const IMAGE_TLV_INFO_MAGIC = 0x6907;
export const IMAGE_TLV_PROT_INFO_MAGIC = 0x6908;
export const IMAGE_TLV_SHA256 = 0x10;
export const IMAGE_TLV_SHA384 = 0x11;
export const IMAGE_TLV_SHA512 = 0x12;
/** The hash TLVs in the order MCUboot prefers them, with their lengths. */
const IMAGE_HASH_TLVS = [
  { type: IMAGE_TLV_SHA256, name: 'SHA256', length: 32 },
  { type: IMAGE_TLV_SHA384, name: 'SHA384', length: 48 },
  { type: IMAGE_TLV_SHA512, name: 'SHA512', length: 64 },
] as const;
const IMAGE_HEADER_SIZE = 32;
const TLV_INFO_SIZE = 4;
const TLV_ENTRY_HEAD_SIZE = 4;

export interface McubootTlv {
  type: number;
  value: Uint8Array;
  protected: boolean;
}

export interface McubootImageInfo {
  /** "major.minor.revision", with ".build" when the build number is not 0 (as img_mgmt reports it). */
  version: string;
  /**
   * The hash TLV (of header, body and protected TLVs; SHA-256, else SHA-384, else SHA-512): the hash img_mgmt's
   * image state lists.
   */
  imageHash?: Buffer;
  /** File size in bytes (what is uploaded). */
  size: number;
  loadAddr: number;
  headerSize: number;
  imageSize: number;
  flags: number;
  tlvs: McubootTlv[];
}

export function parseMcubootImage(file: Uint8Array): DecodeResult<McubootImageInfo> {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < IMAGE_HEADER_SIZE) {
    return fail(`not an MCUboot image: ${file.length} bytes, shorter than the ${IMAGE_HEADER_SIZE}-byte header`);
  }
  const magic = view.getUint32(0, true);
  if (magic !== MCUBOOT_IMAGE_MAGIC) {
    return fail(`not an MCUboot image: bad magic 0x${magic.toString(16).padStart(8, '0')} (expected 0x96f3b83d)`);
  }
  const headerSize = view.getUint16(8, true);
  const protectedSize = view.getUint16(10, true);
  const imageSize = view.getUint32(12, true);
  if (headerSize < IMAGE_HEADER_SIZE) return fail(`bad MCUboot header: hdr_size ${headerSize} is below 32`);
  const tlvStart = headerSize + imageSize;
  if (tlvStart > file.length) {
    return fail(`truncated image: header says ${tlvStart} bytes before the TLVs, the file has ${file.length}`);
  }
  const tlvs: McubootTlv[] = [];
  if (protectedSize > 0) {
    const area = readTlvArea(view, tlvStart, IMAGE_TLV_PROT_INFO_MAGIC, true);
    if (!area.ok) return area;
    if (area.value.length !== protectedSize) {
      return fail(`protected TLV area is ${area.value.length} bytes, header says ${protectedSize}`);
    }
    tlvs.push(...area.value.tlvs);
  }
  const area = readTlvArea(view, tlvStart + protectedSize, IMAGE_TLV_INFO_MAGIC, false);
  if (!area.ok) return area;
  tlvs.push(...area.value.tlvs);

  let sha: McubootTlv | undefined;
  for (const kind of IMAGE_HASH_TLVS) {
    sha = tlvs.find((t) => t.type === kind.type);
    if (!sha) continue;
    if (sha.value.length !== kind.length) {
      return fail(`${kind.name} TLV has ${sha.value.length} bytes, not ${kind.length}`);
    }
    break;
  }
  const version = headerVersion(file);
  return ok({
    version,
    ...(sha ? { imageHash: Buffer.from(sha.value) } : {}),
    size: file.length,
    loadAddr: view.getUint32(4, true),
    headerSize,
    imageSize,
    flags: view.getUint32(16, true),
    tlvs,
  });
}

function readTlvArea(
  view: DataView,
  start: number,
  magic: number,
  isProtected: boolean,
): DecodeResult<{ length: number; tlvs: McubootTlv[] }> {
  const name = isProtected ? 'protected TLV area' : 'TLV area';
  if (start + TLV_INFO_SIZE > view.byteLength) return fail(`truncated ${name}: no TLV info at offset ${start}`);
  const found = view.getUint16(start, true);
  if (found !== magic) {
    return fail(`bad ${name}: magic 0x${found.toString(16)} at offset ${start}, expected 0x${magic.toString(16)}`);
  }
  const length = view.getUint16(start + 2, true);
  const end = start + length;
  if (length < TLV_INFO_SIZE) return fail(`bad ${name}: tlv_tot ${length} is below the 4-byte info`);
  if (end > view.byteLength) return fail(`truncated ${name}: tlv_tot ${length} runs past the end of the file`);
  const tlvs: McubootTlv[] = [];
  // Each step consumes at least 4 bytes of a bounded area.
  for (let pos = start + TLV_INFO_SIZE; pos < end; ) {
    if (pos + TLV_ENTRY_HEAD_SIZE > end) return fail(`truncated ${name}: TLV entry header at offset ${pos}`);
    const type = view.getUint16(pos, true);
    const len = view.getUint16(pos + 2, true);
    const valueStart = pos + TLV_ENTRY_HEAD_SIZE;
    if (valueStart + len > end) return fail(`truncated ${name}: TLV 0x${type.toString(16)} at offset ${pos}`);
    tlvs.push({
      type,
      value: new Uint8Array(view.buffer, view.byteOffset + valueStart, len),
      protected: isProtected,
    });
    pos = valueStart + len;
  }
  return ok({ length, tlvs });
}

/** The version in an MCUboot image header (its first 32 bytes), or undefined when they are not one. */
export function mcubootHeaderVersion(header: Uint8Array): string | undefined {
  if (header.length < IMAGE_HEADER_SIZE) return undefined;
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  return view.getUint32(0, true) === MCUBOOT_IMAGE_MAGIC ? headerVersion(header) : undefined;
}

/** "major.minor.revision", with ".build" when not 0: as img_mgmt reports a version. */
function headerVersion(header: Uint8Array): string {
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  const build = view.getUint32(24, true);
  return `${header[20]}.${header[21]}.${view.getUint16(22, true)}${build !== 0 ? `.${build}` : ''}`;
}
