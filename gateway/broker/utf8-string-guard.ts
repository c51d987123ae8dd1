// Closes a connection that sends an MQTT string with U+0000 or ill-formed UTF-8 [MQTT-1.5.3-1/-2], as Mosquitto
// does. mqtt-packet decodes strings without checking them (ill-formed bytes become U+FFFD) and aedes routes what
// it gets: a topic with U+0000 was acknowledged, delivered and queued for the upstream, whose broker then closed
// the bridge's connection on it after every reconnect. The check runs where the bytes still exist, in the parser,
// so a packet carrying such a topic, filter, will topic, client id or username never reaches aedes.
import { receivedStringProblem } from './topic-validity.js';

export interface MalformedString {
  /** The packet it was in: `connect`, `publish`, `subscribe`, `unsubscribe`. */
  packet: string;
  reason: string;
  /** The client id the CONNECT carried, when the string came after it (will topic, username). */
  connectClientId: string | undefined;
}

/** The parts of mqtt-packet's Parser (`client._parser` in aedes) the guard uses. */
interface StringParser {
  packet: { cmd?: string; clientId?: string };
  _pos: number;
  _list: { slice(start: number, end: number): Uint8Array };
  _parseString(): string | null;
}

/**
 * Wraps the parser's string reader: a malformed string reads as unparsable (null), which makes the parser emit an
 * error and aedes close the connection before it handles the packet; `onMalformed` is told first.
 */
export function guardUtf8Strings(parser: object, onMalformed: (found: MalformedString) => void): void {
  const p = parser as StringParser;
  const parseString = p._parseString.bind(p);
  p._parseString = () => {
    const start = p._pos + 2; // after the two length bytes
    const text = parseString();
    if (text === null) return null;
    const reason = receivedStringProblem(text, () => p._list.slice(start, p._pos));
    if (reason === undefined) return text;
    onMalformed({ packet: p.packet.cmd ?? 'unknown', reason, connectClientId: p.packet.clientId });
    return null;
  };
}
