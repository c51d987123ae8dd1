// Which MQTT strings (topics, filters, client ids...) are well-formed: MQTT 3.1.1 section 1.5.3. A string must be
// well-formed UTF-8 without U+0000 [MQTT-1.5.3-1/-2]; control characters and non-characters are only "SHOULD NOT",
// but Mosquitto refuses them as malformed too, and closes the connection of whoever sends one (a bridge included).
import { isUtf8 } from 'node:buffer';

/** U+0000 and lone surrogates (they have no UTF-8 encoding), plus what Mosquitto's mosquitto_validate_utf8
 * refuses besides: U+0001-U+001F, U+007F-U+009F and the non-characters. */
const MOSQUITTO_REFUSES = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;

/**
 * Why an MQTT string received on the wire breaks MQTT-1.5.3-1/-2, or undefined when it is fine. `text` is what
 * mqtt-packet decoded (`Buffer.toString('utf8')`), which turns each ill-formed sequence into U+FFFD: a U+FFFD is
 * also a legitimate character (EF BF BD), so only then are the original `bytes` read to tell the two apart.
 */
export function receivedStringProblem(text: string, bytes: () => Uint8Array): string | undefined {
  if (text.includes('\0')) return 'contains U+0000';
  if (text.includes('\uFFFD') && !isUtf8(bytes())) return 'is not well-formed UTF-8';
  return undefined;
}

/**
 * Why an upstream broker would close the connection on `topic` (a JS string), or undefined. The embedded broker
 * accepts control characters and non-characters (the specification lets a receiver refuse them, no more), so they
 * are kept from the upstream link instead, where one such message would be resent on every reconnect.
 */
export function upstreamTopicProblem(topic: string): string | undefined {
  const found = MOSQUITTO_REFUSES.exec(topic)?.[0];
  if (found === undefined) return undefined;
  const codePoint = (found.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  return `contains U+${codePoint}: MQTT brokers (Mosquitto) close the connection on such a topic`;
}
