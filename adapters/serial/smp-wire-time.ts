// How long an SMP exchange spends on the UART itself. At 9600 baud a 2 KB request and its answer take seconds on the
// wire, so a per-attempt wait of `smp.timeout_ms` alone would expire on a healthy link: the link adds this time.
import { serialFramedSize } from '../common/smp/serial-frame.js';
import type { SerialDeviceConfig } from './config.js';

/**
 * The largest SMP packet a device answers with. Zephyr builds a response in one CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE
 * buffer: 384 bytes by default, 2475 in nRF Connect's fast-DFU setup, the largest in common use.
 */
export const MAX_SMP_RESPONSE = 2475;
const MAX_RESPONSE_ON_THE_LINE = serialFramedSize(MAX_SMP_RESPONSE).bytes;

export interface SmpWireTiming {
  baudRate: number;
  /** Bits a byte takes on the line: start bit, data bits, parity bit, stop bits. */
  bitsPerByte: number;
  /** Frames the writer sends back to back before pausing `frameGapMs`. */
  framesPerBurst: number;
  frameGapMs: number;
}

export function bitsPerByte(device: Pick<SerialDeviceConfig, 'data_bits' | 'parity' | 'stop_bits'>): number {
  return 1 + device.data_bits + (device.parity === 'none' ? 0 : 1) + device.stop_bits;
}

/** Milliseconds the request's frames (with the writer's pauses) and a maximal answer's frames take on the line. */
export function smpWireTimeMs(requestLength: number, timing: SmpWireTiming): number {
  const request = serialFramedSize(requestLength);
  const pauses = timing.frameGapMs > 0 ? Math.ceil(request.frames / timing.framesPerBurst) - 1 : 0;
  const lineMs = ((request.bytes + MAX_RESPONSE_ON_THE_LINE) * timing.bitsPerByte * 1000) / timing.baudRate;
  return Math.ceil(lineMs + pauses * timing.frameGapMs);
}
