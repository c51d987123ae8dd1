// Small CoAP helpers for the simulators (coap-packet does the framing).
import { randomBytes } from 'node:crypto';
import type { ParsedPacket } from 'coap-packet';

export const METHOD_CODES: Record<string, string> = { '0.01': 'GET', '0.02': 'POST', '0.03': 'PUT', '0.04': 'DELETE' };

export function uintOption(n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from(bytes);
}

export function readUint(b: Buffer): number {
  let n = 0;
  for (const byte of b) n = n * 256 + byte;
  return n;
}

export function option(packet: ParsedPacket, name: string): Buffer | undefined {
  return packet.options.find((o) => o.name === name)?.value;
}

export function options(packet: ParsedPacket, name: string): string[] {
  return packet.options.filter((o) => o.name === name).map((o) => o.value.toString('utf8'));
}

export function uintOf(packet: ParsedPacket, name: string): number | undefined {
  const v = option(packet, name);
  return v === undefined ? undefined : readUint(v);
}

export function newToken(): Buffer {
  return randomBytes(8);
}

/** Resolves with the first value `subscribe` delivers, or rejects after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
