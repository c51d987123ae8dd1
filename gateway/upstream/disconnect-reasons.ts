// Which MQTT 5 DISCONNECT reason codes a server sends because of one message the bridge published, and which
// because of the connection, the server or a subscription. Only the first kind may count against the message in
// flight (poison-guard.ts): a broker that is briefly busy (0x89) or over its quota (0x97) must not get a topic
// refused until a reload.

/** Codes that say the connection, the server or a subscription is the problem, not a published message. */
const NOT_THE_MESSAGE = new Set([
  0x00, // Normal disconnection
  0x89, // Server busy
  0x8b, // Server shutting down
  0x8d, // Keep Alive timeout
  0x8e, // Session taken over
  0x8f, // Topic Filter invalid (a SUBSCRIBE)
  // Receive Maximum exceeded and Topic Alias invalid: how the bridge sends (its in-flight window, aliases), which
  // the next connection starts anew; the same message sent again there is not refused for what it is.
  0x93,
  0x94,
  0x96, // Message rate too high
  0x97, // Quota exceeded
  0x98, // Administrative action
  0x9c, // Use another server
  0x9d, // Server moved
  0x9e, // Shared Subscriptions not supported
  0x9f, // Connection rate exceeded
  0xa0, // Maximum connect time
  0xa1, // Subscription Identifiers not supported
  0xa2, // Wildcard Subscriptions not supported
]);

/** Whether a DISCONNECT with `code` may be the upstream refusing the message in flight: 0x87 Not authorized,
 * 0x90 Topic Name invalid, 0x95 Packet too large, 0x99 Payload format invalid, 0x9A Retain not supported,
 * 0x9B QoS not supported, and the codes that say no more than a close without a word (0x80-0x83). */
export function blamesMessage(code: number): boolean {
  return !NOT_THE_MESSAGE.has(code);
}
