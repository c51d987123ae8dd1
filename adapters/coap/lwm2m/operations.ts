// Device management and information reporting: the requests the server sends to a registered client.
import type { CoapClientRequest, CoapClientResponse, CoapEndpoint, CoapObservation, CoapPeer } from '../endpoint.js';
import { CF, decodePayload, encodePayload } from './codecs/content-format.js';
import { type LinkEntry, parseLinkFormat } from './link-format.js';
import type { ObjectModel } from './object-model.js';
import { formatPath, type Lwm2mPath, pathSegments, pathWithin } from './path.js';
import type { Lwm2mRecord } from './values.js';

export interface OperationTarget {
  peer: CoapPeer;
  /** The format to write in and to ask for (Accept). */
  contentFormat: number;
  /** Called with every answer the client sends, whatever its code (a queue-mode client listens on after it). */
  answered?: (() => void) | undefined;
}

export interface WriteAttributes {
  pmin?: number | undefined;
  pmax?: number | undefined;
  gt?: number | undefined;
  lt?: number | undefined;
  st?: number | undefined;
}

/** What an observation reports after its first response. */
export interface NotificationListener {
  /** Any notification arrived, whatever it carries: the client is awake (queue mode). */
  heard(): void;
  records(records: Lwm2mRecord[]): void;
  /** An error notification (4.04 after the instance was deleted...) ended the relation (RFC 7641 §3.2). */
  ended(code: string): void;
}

/** A failed operation: the client's CoAP code, or a payload the server could not decode. */
export class Lwm2mOperationError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'Lwm2mOperationError';
  }
}

/** The fixed `reason` label of a client payload the server could not use (the detail goes into `error`). */
export type UndecodableReason = 'lwm2m_payload' | 'lwm2m_out_of_path';

const CODE_NAMES: Record<string, string> = {
  '4.00': 'Bad Request',
  '4.01': 'Unauthorized',
  '4.04': 'Not Found',
  '4.05': 'Method Not Allowed',
  '4.06': 'Not Acceptable',
  '4.15': 'Unsupported Content-Format',
  '5.00': 'Internal Server Error',
};

export class Lwm2mOperations {
  constructor(
    private readonly endpoint: CoapEndpoint,
    private readonly model: ObjectModel,
    private readonly timeoutMs: number,
    /** Called with payloads a client sent that could not be decoded, or not wholly used. */
    private readonly onUndecodable: (reason: UndecodableReason, error: string, bytes: Uint8Array) => void,
    /** Called for every request sent to a client (metrics). */
    private readonly onRequest: () => void = () => {},
  ) {}

  async read(target: OperationTarget, path: Lwm2mPath): Promise<Lwm2mRecord[]> {
    const res = await this.send(target, 'read', path, { method: 'GET', accept: target.contentFormat });
    return this.decode(res, path);
  }

  /** Replace = PUT; partial update = POST on an instance (LwM2M 1.x §5.4.3). */
  async write(
    target: OperationTarget,
    path: Lwm2mPath,
    records: Lwm2mRecord[],
    mode: 'replace' | 'partial',
  ): Promise<void> {
    const single = path.res !== undefined && records.length === 1 && records[0]?.path.ri === undefined;
    // One Opaque resource (a firmware package in /5/0/0) goes as application/octet-stream, the format LwM2M gives a
    // single Opaque value and that every client takes block by block: Zephyr's SenML JSON reader refuses a Block1
    // transfer outright (5.00), so a package written as SenML never arrived.
    const opaque = single && path.res !== undefined && this.model.typeOf(path.obj, path.res) === 'opaque';
    const format = opaque ? CF.opaque : target.contentFormat;
    const payload = encodePayload(format, records, path, this.model.typeOf);
    if (!payload.ok) throw new Lwm2mOperationError(`write ${formatPath(path)}: ${payload.error}`);
    const method = mode === 'partial' && path.res === undefined ? 'POST' : 'PUT';
    await this.send(target, 'write', path, { method, contentFormat: format, payload: payload.value });
  }

  /** Create: POST /obj with the new instance's resources (the instance id is in the payload). */
  async create(target: OperationTarget, obj: number, records: Lwm2mRecord[]): Promise<void> {
    const payload = encodePayload(target.contentFormat, records, { obj }, this.model.typeOf);
    if (!payload.ok) throw new Lwm2mOperationError(`create /${obj}: ${payload.error}`);
    await this.send(
      target,
      'create',
      { obj },
      { method: 'POST', contentFormat: target.contentFormat, payload: payload.value },
    );
  }

  async delete(target: OperationTarget, path: Lwm2mPath): Promise<void> {
    await this.send(target, 'delete', path, { method: 'DELETE' });
  }

  async execute(target: OperationTarget, path: Lwm2mPath, args?: string): Promise<void> {
    const req: Partial<CoapClientRequest> = { method: 'POST' };
    if (args) req.payload = args;
    if (args) req.contentFormat = CF.text;
    await this.send(target, 'execute', path, req);
  }

  async discover(target: OperationTarget, path: Lwm2mPath): Promise<LinkEntry[]> {
    const res = await this.send(target, 'discover', path, { method: 'GET', accept: CF.linkFormat });
    const links = parseLinkFormat(res.payload.toString('utf8'));
    if (!links.ok) {
      this.onUndecodable('lwm2m_payload', `discover ${formatPath(path)}: ${links.error}`, res.payload);
      throw new Lwm2mOperationError(`discover ${formatPath(path)}: ${links.error}`);
    }
    return links.value;
  }

  async writeAttributes(target: OperationTarget, path: Lwm2mPath, attrs: WriteAttributes): Promise<void> {
    const query = Object.entries(attrs)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${v}`);
    await this.send(target, 'write-attributes', path, { method: 'PUT', query });
  }

  async observe(
    target: OperationTarget,
    path: Lwm2mPath,
    listener: NotificationListener,
  ): Promise<{ records: Lwm2mRecord[]; observation: CoapObservation }> {
    const req = this.request(target, path, { method: 'GET', accept: target.contentFormat });
    const observation = await this.endpoint.observe(req, (res) => {
      listener.heard();
      if (!res.code.startsWith('2.')) {
        listener.ended(res.code);
        return;
      }
      const decoded = decodePayload(res.contentFormat, res.payload, path, this.model.typeOf);
      if (decoded.ok) listener.records(this.within(decoded.value, path, res.payload));
      else this.onUndecodable('lwm2m_payload', `notification ${formatPath(path)}: ${decoded.error}`, res.payload);
    });
    const first = observation.first;
    target.answered?.();
    if (!first.code.startsWith('2.')) {
      throw new Lwm2mOperationError(`observe ${formatPath(path)}: ${describe(first.code)}`, first.code);
    }
    return { records: this.decode(first, path), observation };
  }

  private request(target: OperationTarget, path: Lwm2mPath, req: Partial<CoapClientRequest>): CoapClientRequest {
    this.onRequest();
    return { peer: target.peer, method: 'GET', path: pathSegments(path), timeoutMs: this.timeoutMs, ...req };
  }

  private async send(
    target: OperationTarget,
    op: string,
    path: Lwm2mPath,
    req: Partial<CoapClientRequest>,
  ): Promise<CoapClientResponse> {
    const res = await this.endpoint.request(this.request(target, path, req));
    target.answered?.();
    if (!res.code.startsWith('2.')) {
      throw new Lwm2mOperationError(`${op} ${formatPath(path)}: ${describe(res.code)}`, res.code);
    }
    return res;
  }

  private decode(res: CoapClientResponse, path: Lwm2mPath): Lwm2mRecord[] {
    if (res.payload.length === 0) return [];
    const decoded = decodePayload(res.contentFormat, res.payload, path, this.model.typeOf);
    if (decoded.ok) return this.within(decoded.value, path, res.payload);
    this.onUndecodable('lwm2m_payload', `${formatPath(path)}: ${decoded.error}`, res.payload);
    throw new Lwm2mOperationError(`${formatPath(path)}: ${decoded.error}`);
  }

  /** Drops records outside the requested path: they would land in the state as if the server had asked for them. */
  private within(records: Lwm2mRecord[], path: Lwm2mPath, bytes: Uint8Array): Lwm2mRecord[] {
    const outside = records.filter((r) => !pathWithin(r.path, path));
    const [first] = outside;
    if (!first) return records;
    const error = `${outside.length} record(s) outside ${formatPath(path)}, e.g. ${formatPath(first.path)}`;
    this.onUndecodable('lwm2m_out_of_path', error, bytes);
    return records.filter((r) => pathWithin(r.path, path));
  }
}

function describe(code: string): string {
  const name = CODE_NAMES[code];
  return name ? `${code} ${name}` : code;
}
