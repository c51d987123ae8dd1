// What one upstream connection got to before it closed: what the close is blamed on (close-blame.ts) depends on it.
export interface ConnectionRecord {
  /** The upstream answered CONNECT with a successful CONNACK. */
  accepted: boolean;
  /** An error (or an MQTT 5 DISCONNECT) was reported for it: its close needs no guess of its own. */
  reported: boolean;
  /** The MQTT 5 DISCONNECT the upstream sent before closing, described, and its reason code. */
  disconnect: string | undefined;
  disconnectCode: number | undefined;
  /** Filters subscribed to whose SUBACK has not come. */
  subscribing: Set<string>;
  /** The online state was published and the upstream has not answered it. */
  statePending: boolean;
  stateSentAt: number;
  /** messages.acked when the state was published. */
  ackedAtState: number;
}

export const newConnectionRecord = (): ConnectionRecord => ({
  accepted: false,
  reported: false,
  disconnect: undefined,
  disconnectCode: undefined,
  subscribing: new Set(),
  statePending: false,
  stateSentAt: 0,
  ackedAtState: 0,
});
