// A UDP socket that could not be bound, with the address and port it was asked for: the adapter names the setting
// to change from them, and `code` (EADDRINUSE, EACCES, EADDRNOTAVAIL...) says why.
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
