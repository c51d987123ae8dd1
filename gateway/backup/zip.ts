// A ZIP archive (PKWARE APPNOTE 6.3: local headers, central directory, end record; no ZIP64) of a few files held in
// memory, as Zigbee2MQTT's bridge/request/backup answers: node:zlib deflates and checksums, nothing else is needed.
import { promisify } from 'node:util';
import { crc32, deflateRaw } from 'node:zlib';

/** In libuv's thread pool: tens of MB deflated on the event loop would stall every device for seconds. */
const deflate = promisify(deflateRaw);

export interface ZipFile {
  /** Path inside the archive, `/`-separated. */
  name: string;
  data: Buffer;
  modified: Date;
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const VERSION_NEEDED = 20; // deflate
const VERSION_MADE_BY = (3 << 8) | 30; // Unix, spec 3.0: external attributes carry the mode
const UTF8_NAMES = 0x0800;
const STORED = 0;
const DEFLATED = 8;
const FILE_MODE = 0o100644;

/** The archive; throws past the limits of a ZIP without ZIP64 (65,535 files, 4 GiB), which callers stay under. */
export async function zip(files: readonly ZipFile[]): Promise<Buffer> {
  if (files.length > 0xffff) throw new Error('too many files for a ZIP archive');
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name, 'utf8');
    const deflated = await deflate(file.data);
    const [method, body] = deflated.length < file.data.length ? [DEFLATED, deflated] : [STORED, file.data];
    const crc = crc32(file.data);
    const { time, date } = dosTime(file.modified);
    // "Version needed" to "file name length": the same 24 bytes in the local header and the central directory.
    const entry = Buffer.alloc(24);
    entry.writeUInt16LE(VERSION_NEEDED, 0);
    entry.writeUInt16LE(UTF8_NAMES, 2);
    entry.writeUInt16LE(method, 4);
    entry.writeUInt16LE(time, 6);
    entry.writeUInt16LE(date, 8);
    entry.writeUInt32LE(crc, 10);
    entry.writeUInt32LE(body.length, 14);
    entry.writeUInt32LE(file.data.length, 18);
    entry.writeUInt16LE(name.length, 22);
    const local = Buffer.alloc(30); // extra field length: 0
    local.writeUInt32LE(LOCAL_HEADER, 0);
    entry.copy(local, 4);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(CENTRAL_HEADER, 0);
    header.writeUInt16LE(VERSION_MADE_BY, 4);
    entry.copy(header, 6);
    // extra field, comment, disk number, internal attributes: 0
    header.writeUInt32LE((FILE_MODE << 16) >>> 0, 38);
    header.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(header, name);
    offset += local.length + name.length + body.length;
    if (offset > 0xffffffff) throw new Error('too large for a ZIP archive without ZIP64');
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/** MS-DOS local time, 2 s resolution, 1980..2107 (clamped). */
function dosTime(d: Date): { time: number; date: number } {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}
