// `<base>/bridge/request/<name>` -> `<base>/bridge/response/<name>`, Zigbee2MQTT style:
// {status: "ok"|"error", data, error?, transaction?}. A thrown error becomes an error response.
import { suggest } from '../config/issues.js';
import type { ResponseEnvelope } from './topics.js';

export type RequestHandler<Ctx> = (ctx: Ctx, data: Record<string, unknown>) => Promise<unknown> | unknown;

export class RequestError extends Error {}

/** A request the adapter of the device it names ran and failed: counted against that adapter, not the bridge. */
export class AdapterRequestError extends Error {
  readonly data: unknown;

  constructor(
    readonly adapter: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.data = (cause as { data?: unknown } | null)?.data;
  }
}

/** "unknown request" with the closest known name as a hint. */
export function unknownRequest(name: string, known: readonly string[]): string {
  const hint = suggest(name, known);
  return `unknown request "${name}"${hint ? ` (${hint})` : ''}`;
}

/** What an error carries for automations besides its message (e.g. an SMP error's rc and group). */
function errorData(err: unknown): Record<string, unknown> {
  const data = (err as { data?: unknown } | null)?.data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}

export class RequestRouter<Ctx> {
  readonly #handlers = new Map<string, RequestHandler<Ctx>>();

  constructor(
    private readonly fallback?: (
      ctx: Ctx,
      name: string,
      data: Record<string, unknown>,
      known: readonly string[],
    ) => Promise<unknown>,
  ) {}

  register(name: string, handler: RequestHandler<Ctx>): this {
    this.#handlers.set(name, handler);
    return this;
  }

  names(): string[] {
    return [...this.#handlers.keys()];
  }

  /** The response to a request; `failed` hears of every error answer, with the error behind it. */
  async dispatch(
    ctx: Ctx,
    name: string,
    payload: Buffer,
    failed: (err: unknown) => void = () => {},
  ): Promise<ResponseEnvelope> {
    let data: Record<string, unknown> = {};
    let transaction: { value: unknown } | undefined;
    try {
      const text = payload.toString('utf8').trim();
      const parsed: unknown = text === '' ? {} : parseOrText(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        data = { ...(parsed as Record<string, unknown>) };
      } else {
        // Z2M accepts a bare value for simple requests (`bridge/request/permit_join` with `true`).
        data = { value: parsed };
      }
    } catch (err) {
      // The log says what the answer says, and where the parser stopped.
      const error = 'payload is not valid JSON';
      failed(new Error(`${error}: ${err instanceof Error ? err.message : String(err)}`));
      return { status: 'error', data: {}, error };
    }
    // Echoed whatever JSON it is, as Zigbee2MQTT does (apps use strings, numbers and objects alike).
    if (Object.hasOwn(data, 'transaction')) transaction = { value: data.transaction };
    delete data.transaction;
    try {
      const handler = this.#handlers.get(name);
      let result: unknown;
      if (handler) result = await handler(ctx, data);
      else if (this.fallback) result = await this.fallback(ctx, name, data, this.names());
      else throw new RequestError(unknownRequest(name, this.names()));
      return withTransaction({ status: 'ok', data: result ?? {} }, transaction);
    } catch (err) {
      failed(err);
      return withTransaction(
        { status: 'error', data: errorData(err), error: err instanceof Error ? err.message : String(err) },
        transaction,
      );
    }
  }
}

function withTransaction(res: ResponseEnvelope, transaction: { value: unknown } | undefined): ResponseEnvelope {
  return transaction === undefined ? res : { ...res, transaction: transaction.value };
}

/**
 * JSON, or plain text as the bare value, as Zigbee2MQTT takes it (`device/remove` with `door-node`). Text that
 * starts like JSON (an object, array or string) but does not parse is still an error: it is a broken request,
 * not a name.
 */
function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    if (/^[[{"]/.test(text)) throw err;
    return text;
  }
}
