// `<base>/bridge/request/<name>` -> `<base>/bridge/response/<name>`, Zigbee2MQTT style:
// {status: "ok"|"error", data, error?, transaction?}. A thrown error becomes an error response.
import type { ResponseEnvelope } from './topics.js';

export type RequestHandler<Ctx> = (ctx: Ctx, data: Record<string, unknown>) => Promise<unknown> | unknown;

export class RequestError extends Error {}

export class RequestRouter<Ctx> {
  readonly #handlers = new Map<string, RequestHandler<Ctx>>();

  constructor(
    private readonly fallback?: (ctx: Ctx, name: string, data: Record<string, unknown>) => Promise<unknown>,
  ) {}

  register(name: string, handler: RequestHandler<Ctx>): this {
    this.#handlers.set(name, handler);
    return this;
  }

  names(): string[] {
    return [...this.#handlers.keys()];
  }

  async dispatch(ctx: Ctx, name: string, payload: Buffer): Promise<ResponseEnvelope> {
    let data: Record<string, unknown> = {};
    let transaction: string | number | undefined;
    try {
      const text = payload.toString('utf8').trim();
      const parsed: unknown = text === '' ? {} : JSON.parse(text);
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        data = { ...(parsed as Record<string, unknown>) };
      } else {
        // Z2M accepts a bare value for simple requests (`bridge/request/permit_join` with `true`).
        data = { value: parsed };
      }
    } catch {
      return { status: 'error', data: {}, error: 'payload is not valid JSON' };
    }
    if (typeof data.transaction === 'string' || typeof data.transaction === 'number') transaction = data.transaction;
    delete data.transaction;
    try {
      const handler = this.#handlers.get(name);
      let result: unknown;
      if (handler) result = await handler(ctx, data);
      else if (this.fallback) result = await this.fallback(ctx, name, data);
      else throw new RequestError(`unknown request "${name}"`);
      return withTransaction({ status: 'ok', data: result ?? {} }, transaction);
    } catch (err) {
      return withTransaction(
        { status: 'error', data: {}, error: err instanceof Error ? err.message : String(err) },
        transaction,
      );
    }
  }
}

function withTransaction(res: ResponseEnvelope, transaction: string | number | undefined): ResponseEnvelope {
  return transaction === undefined ? res : { ...res, transaction };
}
