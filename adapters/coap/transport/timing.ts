// RFC 7252 §4.8 transmission parameters. Tests shrink ackTimeoutMs; everything derived follows.
export interface TransmissionParameters {
  ackTimeoutMs: number;
  ackRandomFactor: number;
  maxRetransmit: number;
}

export const DEFAULT_TRANSMISSION: TransmissionParameters = {
  ackTimeoutMs: 2000,
  ackRandomFactor: 1.5,
  maxRetransmit: 4,
};

/** MAX_TRANSMIT_WAIT: the longest a CON sender waits for an ACK or RST. */
export function maxTransmitWait(p: TransmissionParameters): number {
  return p.ackTimeoutMs * (2 ** (p.maxRetransmit + 1) - 1) * p.ackRandomFactor;
}

/** EXCHANGE_LIFETIME (247 s by default): how long a message id must be remembered for deduplication. */
export function exchangeLifetime(p: TransmissionParameters): number {
  const maxTransmitSpan = p.ackTimeoutMs * (2 ** p.maxRetransmit - 1) * p.ackRandomFactor;
  return maxTransmitSpan + 2 * 100_000 + p.ackTimeoutMs;
}
