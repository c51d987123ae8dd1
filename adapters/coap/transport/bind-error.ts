// A UDP socket that could not be bound, with the address and port it was asked for: the adapter names the setting
// to change from them, and `code` (EADDRINUSE, EACCES, EADDRNOTAVAIL...) says why.
import { InterfaceZones } from './interface-zones.js';
export class UdpBindError extends Error {
  override name = 'UdpBindError';
  readonly code: string | undefined;

  constructor(
    error: NodeJS.ErrnoException,
    readonly address: string,
    readonly port: number,
  ) {
    super(error.message);
    this.code = error.code;
  }
}

/**
 * Why a link-local bind address failed for its zone (EINVAL: libuv read a name no interface has as no zone), or
 * undefined when that is not the reason. (The config check refuses a link-local bind address without a zone.)
 */
export function zoneBindProblem(error: UdpBindError, zones = new InterfaceZones()): string | undefined {
  if (error.code !== 'EINVAL') return undefined;
  const problem = zones.problem(error.address);
  return problem === undefined ? undefined : `${problem} (the adapter tries again, and starts once it is up)`;
}
