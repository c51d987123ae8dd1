// `<base>/bridge/logging`: the gateway's log lines as MQTT messages, as Zigbee2MQTT publishes them:
// {"level": "info"|"warning"|"error", "message", "namespace"?}. Not retained. Bounded: at most MAX_PER_SECOND lines a
// second go out, the rest are counted and said in one line when the second is over. A line logged while a line is
// being published (the broker's own logging of that publish) is not published, so it cannot feed itself.

/** pino's numeric levels. */
const LEVELS = { debug: 20, info: 30, warn: 40, error: 50 } as const;
/** No debug: the broker's debug lines about each publish would come back as more lines to publish. */
export const BRIDGE_LOGGING_LEVELS = ['info', 'warn', 'error', 'off'] as const;
export type BridgeLoggingLevel = (typeof BRIDGE_LOGGING_LEVELS)[number];

const MAX_PER_SECOND = 50;

export interface BridgeLogMessage {
  level: 'debug' | 'info' | 'warning' | 'error';
  message: string;
  namespace?: string;
}

export interface LogSource {
  follow(listener: (line: string) => void): () => void;
}

export class BridgeLogging {
  #source: LogSource | undefined;
  #unfollow: (() => void) | undefined;
  #publishing = false;
  #windowStart = 0;
  #sentInWindow = 0;
  #dropped = 0;
  #minLevel: number;

  constructor(
    private readonly publish: (message: BridgeLogMessage) => void,
    level: BridgeLoggingLevel,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#minLevel = minLevelOf(level);
  }

  /** Follows `source` while the level is not `off`: every line the logger writes reaches it. */
  start(source: LogSource): void {
    this.#source = source;
    this.#follow();
  }

  stop(): void {
    this.#source = undefined;
    this.#follow();
  }

  setLevel(level: BridgeLoggingLevel): void {
    this.#minLevel = minLevelOf(level);
    this.#follow();
  }

  #follow(): void {
    const wanted = this.#source !== undefined && Number.isFinite(this.#minLevel);
    if (wanted && !this.#unfollow) this.#unfollow = this.#source?.follow((line) => this.#onLine(line));
    else if (!wanted && this.#unfollow) {
      this.#unfollow();
      this.#unfollow = undefined;
    }
  }

  #onLine(line: string): void {
    if (this.#publishing) return;
    const message = toMessage(line, this.#minLevel);
    if (!message) return;
    const now = this.now();
    if (now - this.#windowStart >= 1000) {
      const dropped = this.#dropped;
      this.#windowStart = now;
      this.#sentInWindow = 0;
      this.#dropped = 0;
      if (dropped > 0) {
        this.#send({
          level: 'warning',
          message: `${dropped} log lines not published on bridge/logging (more than ${MAX_PER_SECOND} a second)`,
        });
      }
    }
    if (this.#sentInWindow >= MAX_PER_SECOND) {
      this.#dropped++;
      return;
    }
    this.#sentInWindow++;
    this.#send(message);
  }

  #send(message: BridgeLogMessage): void {
    this.#publishing = true;
    try {
      this.publish(message);
    } finally {
      this.#publishing = false;
    }
  }
}

function minLevelOf(level: BridgeLoggingLevel): number {
  return level === 'off' ? Number.POSITIVE_INFINITY : LEVELS[level];
}

/** pino writes the level first: a line below the level is left without parsing it (debug lines can be many). */
const LEADING_LEVEL = /^\{"level":(\d+)/;

/** The message for one JSON log line at or above `minLevel`; undefined for others and for lines that are not JSON. */
function toMessage(line: string, minLevel: number): BridgeLogMessage | undefined {
  const leading = LEADING_LEVEL.exec(line);
  if (leading && Number(leading[1]) < minLevel) return undefined;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof record !== 'object' || record === null) return undefined;
  const { level, msg, module, err } = record as { level?: unknown; msg?: unknown; module?: unknown; err?: unknown };
  if (typeof level !== 'number' || level < minLevel) return undefined;
  const text = typeof msg === 'string' ? msg : '';
  // An Error is serialized as an object; a reason given as text (decode errors, refusals) stays a string.
  const reason = typeof err === 'string' ? err : (err as { message?: unknown } | undefined)?.message;
  return {
    level: level >= LEVELS.error ? 'error' : level >= LEVELS.warn ? 'warning' : level >= LEVELS.info ? 'info' : 'debug',
    message: typeof reason === 'string' && reason !== '' ? `${text}: ${reason}` : text,
    ...(typeof module === 'string' ? { namespace: module } : {}),
  };
}
