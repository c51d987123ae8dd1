// Decoders for the standard GATT characteristics Zephyr samples expose (protocols.md §1.1).
import { type DecodeResult, fail, ok, scaled } from './result.js';

function exactly(bytes: Uint8Array, n: number, what: string): string | undefined {
  if (bytes.length !== n) return `${what}: expected ${n} bytes, got ${bytes.length}`;
  return undefined;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** ESS Temperature 0x2A6E: sint16 LE, 0.01 °C. */
export function decodeEssTemperature(bytes: Uint8Array): DecodeResult<number> {
  const err = exactly(bytes, 2, 'temperature');
  if (err) return fail(err);
  const raw = view(bytes).getInt16(0, true);
  if (raw === -32768) return fail('temperature: value is not known (0x8000)');
  return ok(scaled(raw, 0.01));
}

/** ESS Humidity 0x2A6F: uint16 LE, 0.01 %. */
export function decodeEssHumidity(bytes: Uint8Array): DecodeResult<number> {
  const err = exactly(bytes, 2, 'humidity');
  if (err) return fail(err);
  const raw = view(bytes).getUint16(0, true);
  if (raw === 0xffff) return fail('humidity: value is not known (0xFFFF)');
  if (raw > 10_000) return fail(`humidity: ${raw / 100} % is out of range`);
  return ok(scaled(raw, 0.01));
}

/** ESS Pressure 0x2A6D: uint32 LE, 0.1 Pa; published in hPa. */
export function decodeEssPressure(bytes: Uint8Array): DecodeResult<number> {
  const err = exactly(bytes, 4, 'pressure');
  if (err) return fail(err);
  return ok(scaled(view(bytes).getUint32(0, true), 0.001));
}

/** Battery Level 0x2A19: uint8 0..100 %. */
export function decodeBatteryLevel(bytes: Uint8Array): DecodeResult<number> {
  const err = exactly(bytes, 1, 'battery level');
  if (err) return fail(err);
  const v = bytes[0]!;
  if (v > 100) return fail(`battery level: ${v} is above 100 %`);
  return ok(v);
}

export interface HeartRate {
  heart_rate: number;
  /** Skin contact of the sensor (not a door `contact`). */
  skin_contact?: boolean;
  energy_expended?: number;
  rr_intervals?: number[];
}

/** HR Measurement 0x2A37: flags u8, HR u8/u16, optional energy expended u16, RR intervals u16 (1/1024 s). */
export function decodeHeartRate(bytes: Uint8Array): DecodeResult<HeartRate> {
  if (bytes.length < 2) return fail(`heart rate: expected at least 2 bytes, got ${bytes.length}`);
  const dv = view(bytes);
  const flags = bytes[0]!;
  let offset = 1;
  const wide = (flags & 0x01) !== 0;
  if (bytes.length < offset + (wide ? 2 : 1)) return fail('heart rate: truncated value');
  const out: HeartRate = { heart_rate: wide ? dv.getUint16(offset, true) : dv.getUint8(offset) };
  offset += wide ? 2 : 1;
  if (flags & 0x04) out.skin_contact = (flags & 0x02) !== 0;
  if (flags & 0x08) {
    if (bytes.length < offset + 2) return fail('heart rate: truncated energy expended');
    out.energy_expended = dv.getUint16(offset, true);
    offset += 2;
  }
  if (flags & 0x10) {
    const rr: number[] = [];
    while (offset + 2 <= bytes.length) {
      rr.push(Math.round((dv.getUint16(offset, true) / 1024) * 1000) / 1000);
      offset += 2;
    }
    out.rr_intervals = rr;
  }
  if (offset !== bytes.length) return fail(`heart rate: ${bytes.length - offset} unexpected trailing bytes`);
  return ok(out);
}

const BODY_SENSOR_LOCATIONS = ['other', 'chest', 'wrist', 'finger', 'hand', 'ear_lobe', 'foot'] as const;

/** Body Sensor Location 0x2A38: uint8 enum. */
export function decodeBodySensorLocation(bytes: Uint8Array): DecodeResult<string> {
  const err = exactly(bytes, 1, 'body sensor location');
  if (err) return fail(err);
  return ok(BODY_SENSOR_LOCATIONS[bytes[0]!] ?? `reserved_${bytes[0]}`);
}

/** IEEE-11073 32-bit FLOAT: signed 24-bit mantissa LE, signed 8-bit exponent. Reserved mantissas are errors. */
export function decodeIeee11073Float(bytes: Uint8Array, offset = 0): DecodeResult<number> {
  if (bytes.length < offset + 4) return fail('FLOAT: truncated');
  let mantissa = bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16);
  const exponent = (bytes[offset + 3]! << 24) >> 24;
  switch (mantissa) {
    case 0x7fffff:
      return fail('FLOAT: NaN');
    case 0x800000:
      return fail('FLOAT: not at this resolution (NRes)');
    case 0x7ffffe:
      return fail('FLOAT: +infinity');
    case 0x800002:
      return fail('FLOAT: -infinity');
    case 0x800001:
      return fail('FLOAT: reserved value');
  }
  if (mantissa & 0x800000) mantissa -= 0x1000000;
  if (exponent < 0) return ok(mantissa / 10 ** -exponent);
  return ok(mantissa * 10 ** exponent);
}

export interface HtsMeasurement {
  temperature: number;
  unit: 'celsius';
  timestamp?: string;
  temperature_type?: number;
}

/** Temperature Measurement 0x2A1C: flags u8, FLOAT, optional 7-byte timestamp, optional type u8. °F is converted. */
export function decodeHtsMeasurement(bytes: Uint8Array): DecodeResult<HtsMeasurement> {
  if (bytes.length < 5) return fail(`temperature measurement: expected at least 5 bytes, got ${bytes.length}`);
  const flags = bytes[0]!;
  const value = decodeIeee11073Float(bytes, 1);
  if (!value.ok) return fail(`temperature measurement: ${value.error}`);
  const celsius = flags & 0x01 ? Math.round(((value.value - 32) * 5 * 100) / 9) / 100 : value.value;
  const out: HtsMeasurement = { temperature: celsius, unit: 'celsius' };
  let offset = 5;
  if (flags & 0x02) {
    if (bytes.length < offset + 7) return fail('temperature measurement: truncated timestamp');
    const dv = view(bytes);
    const [y, mo, d, h, mi, s] = [
      dv.getUint16(offset, true),
      bytes[offset + 2]!,
      bytes[offset + 3]!,
      bytes[offset + 4]!,
      bytes[offset + 5]!,
      bytes[offset + 6]!,
    ];
    const pad = (n: number) => String(n).padStart(2, '0');
    out.timestamp = `${String(y).padStart(4, '0')}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}`;
    offset += 7;
  }
  if (flags & 0x04) {
    if (bytes.length < offset + 1) return fail('temperature measurement: truncated type');
    out.temperature_type = bytes[offset]!;
    offset += 1;
  }
  if (offset !== bytes.length)
    return fail(`temperature measurement: ${bytes.length - offset} unexpected trailing bytes`);
  return ok(out);
}

/** UTF-8 strings (DIS, 0x2901): invalid sequences are an error, a trailing NUL is tolerated. */
export function decodeUtf8(bytes: Uint8Array): DecodeResult<string> {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return ok(text.replace(/\0+$/, ''));
  } catch {
    return fail('not valid UTF-8');
  }
}

export interface PnpId {
  vendor_id_source: number;
  vendor_id: number;
  product_id: number;
  product_version: number;
}

/** PnP ID 0x2A50: vid_src u8, vid u16, pid u16, version u16, LE. */
export function decodePnpId(bytes: Uint8Array): DecodeResult<PnpId> {
  const err = exactly(bytes, 7, 'PnP ID');
  if (err) return fail(err);
  const dv = view(bytes);
  return ok({
    vendor_id_source: bytes[0]!,
    vendor_id: dv.getUint16(1, true),
    product_id: dv.getUint16(3, true),
    product_version: dv.getUint16(5, true),
  });
}
