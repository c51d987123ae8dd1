// A simulated Zephyr LwM2M client (subsys/net/lib/lwm2m) on a real UDP socket: registers with Zephyr's query order
// and link-format payload, answers Read/Write/Execute/Discover/Write-Attributes/Observe, notifies, sends /dp.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { generate, type NamedOption, type ParsedPacket, parse } from 'coap-packet';
import { CF, decodePayload, encodePayload } from '../../../adapters/coap/lwm2m/codecs/content-format.js';
import { decodeTlv, encodeTlv } from '../../../adapters/coap/lwm2m/codecs/tlv.js';
import { loadObjectModel } from '../../../adapters/coap/lwm2m/object-model.js';
import { formatPath, type Lwm2mPath, parsePath, pathWithin } from '../../../adapters/coap/lwm2m/path.js';
import { type Decoded, ok } from '../../../adapters/coap/lwm2m/result.js';
import type { Lwm2mRecord, Lwm2mValue } from '../../../adapters/coap/lwm2m/values.js';
import { METHOD_CODES, newToken, options, uintOf, uintOption, withTimeout } from './coap-wire.js';

const model = loadObjectModel();

export type SimFormat = 'tlv' | 'senml-json' | 'senml-cbor';
const FORMAT_CF: Record<SimFormat, number> = { tlv: CF.tlv, 'senml-json': CF.senmlJson, 'senml-cbor': CF.senmlCbor };

export interface SimClientOptions {
  server: { address: string; port: number };
  endpoint: string;
  lifetime?: number;
  version?: '1.0' | '1.1';
  format?: SimFormat;
  queueMode?: boolean;
  /** Loopback address to send from (another 127.x address models another host). */
  bindAddress?: string;
  /** RFC 7252 ACK_TIMEOUT for this client's CON requests (Zephyr: CONFIG_COAP_INIT_ACK_TIMEOUT_MS, 2 s). */
  ackTimeoutMs?: number;
  /** Observers it keeps (Zephyr: CONFIG_LWM2M_ENGINE_MAX_OBSERVER); past it an Observe GET is answered without
   * Observe: a plain read, no relation (RFC 7641 §3.1). */
  maxObservers?: number;
}

const MAX_RETRANSMIT = 4;

interface Observer {
  token: Buffer;
  path: Lwm2mPath;
  seq: number;
  peer: { address: string; port: number };
}

/** Resources of lwm2m_client sample (protocols.md §3.4). */
export function sampleResources(): Lwm2mRecord[] {
  const r = (obj: number, inst: number, res: number, value: Lwm2mValue, ri?: number): Lwm2mRecord => ({
    path: ri === undefined ? { obj, inst, res } : { obj, inst, res, ri },
    value,
  });
  return [
    r(1, 0, 0, 101),
    r(1, 0, 1, 300),
    r(1, 0, 7, 'U'),
    r(3, 0, 0, 'Zephyr'),
    r(3, 0, 1, 'OMA-LWM2M Sample Client'),
    r(3, 0, 2, '345000123'),
    r(3, 0, 3, '1.0'),
    r(3, 0, 7, 3800, 0),
    r(3, 0, 7, 5000, 1),
    r(3, 0, 9, 95),
    r(3, 0, 17, 'OMA-LWM2M Client'),
    r(3303, 0, 5700, 25.5),
    r(3303, 0, 5701, 'Cel'),
    r(3311, 0, 5850, false),
    r(3311, 0, 5750, 'Test light'),
    r(3311, 0, 5852, 0),
  ];
}

/** Like Zephyr's writers: TLV for one resource instance (path level 4) is the bare entry, without the Multiple
 * Resource wrapper around it (lwm2m_rw_oma_tlv.c, put_end_ri). */
function encodeBody(cf: number, records: Lwm2mRecord[], path: Lwm2mPath): Decoded<Buffer> {
  const body = encodePayload(cf, records, path, model.typeOf);
  if (!body.ok || cf !== CF.tlv || path.ri === undefined) return body;
  const tree = decodeTlv(body.value);
  return tree.ok ? ok(encodeTlv(tree.value.flatMap((e) => e.children ?? [e]))) : tree;
}

export class SimLwm2mClient extends EventEmitter {
  readonly opts: Required<SimClientOptions>;
  readonly resources = new Map<string, Lwm2mRecord>();
  readonly observers = new Map<string, Observer>();
  readonly attributes = new Map<string, Record<string, string>>();
  /** Location-Path the server answered Register with (`rd`, `<id>`). */
  location: string[] = [];
  /** While sleeping (queue mode) requests from the server are dropped, as the radio is off. */
  sleeping = false;
  /** A payload (in the client's format) to answer a Read of this path with instead of the resources. */
  answerOverride: (path: string) => string | undefined = () => undefined;
  #socket: Socket | undefined;
  #mid = 1;
  readonly #pending = new Map<string, (p: ParsedPacket) => void>();
  readonly #notifyMids = new Map<number, string>();
  readonly #acked = new Map<number, () => void>();
  /** Block1 uploads in progress, by path: the blocks received so far. */
  readonly #uploads = new Map<string, Buffer[]>();

  constructor(opts: SimClientOptions) {
    super();
    this.opts = {
      lifetime: 300,
      version: '1.1',
      format: 'senml-json',
      queueMode: false,
      bindAddress: '127.0.0.1',
      ackTimeoutMs: 2000,
      maxObservers: Number.POSITIVE_INFINITY,
      ...opts,
    };
    for (const r of sampleResources()) this.resources.set(formatPath(r.path), r);
  }

  get port(): number {
    return this.#socket?.address().port ?? 0;
  }

  async start(): Promise<void> {
    const socket = createSocket('udp4');
    this.#socket = socket;
    socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
    await new Promise<void>((resolve) => socket.bind(0, this.opts.bindAddress, resolve));
  }

  async stop(): Promise<void> {
    const s = this.#socket;
    this.#socket = undefined;
    this.observers.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** A reboot: new socket (new source port), observers and registration forgotten. */
  async restart(): Promise<void> {
    await this.stop();
    this.location = [];
    await this.start();
  }

  /** `</>;ct=..` (omitted for a TLV-only build) then `</obj/inst>` per instance; object 0 is never listed. */
  registerPayload(): string {
    const ct = this.opts.format === 'tlv' ? [] : [`</>;ct=${FORMAT_CF[this.opts.format]}`];
    const instances = new Set<string>();
    for (const r of this.resources.values()) if (r.path.obj !== 0) instances.add(`</${r.path.obj}/${r.path.inst}>`);
    return [...ct, ...instances].join(',');
  }

  /** Register with Zephyr's query order: lwm2m, ep, lt, b (only if not U), Q (1.1 queue mode). */
  async register(): Promise<string> {
    const query = [`lwm2m=${this.opts.version}`, `ep=${this.opts.endpoint}`, `lt=${this.opts.lifetime}`];
    if (this.opts.queueMode && this.opts.version === '1.0') query.push('b=UQ');
    if (this.opts.queueMode && this.opts.version === '1.1') query.push('Q');
    const res = await this.request('POST', ['rd'], query, this.registerPayload(), CF.linkFormat);
    if (res.code !== '2.01') throw new Error(`register answered ${res.code} ${res.payload.toString()}`);
    this.location = options(res, 'Location-Path');
    this.sleeping = false;
    return this.location[1] ?? '';
  }

  async update(query: string[] = []): Promise<string> {
    this.sleeping = false;
    const res = await this.request('POST', this.location, query);
    return res.code;
  }

  async deregister(): Promise<string> {
    const res = await this.request('DELETE', this.location);
    return res.code;
  }

  /** LwM2M 1.1 Send of the given paths' current values. */
  async send(paths: string[]): Promise<string> {
    const records = paths.flatMap((p) => {
      const r = this.resources.get(p);
      return r ? [r] : [];
    });
    const cf = this.opts.format === 'senml-cbor' ? CF.senmlCbor : CF.senmlJson;
    const payload = encodePayload(cf, records, { obj: 0 }, model.typeOf);
    if (!payload.ok) throw new Error(payload.error);
    const res = await this.request('POST', ['dp'], [], payload.value, cf);
    return res.code;
  }

  /** Changes a resource value and notifies observers of it (as the sample's sensor thread does). */
  setValue(path: string, value: Lwm2mValue): void {
    const p = parsePath(path);
    if (!p.ok || p.value.inst === undefined || p.value.res === undefined) throw new Error(`bad path ${path}`);
    const record: Lwm2mRecord = { path: { ...p.value, inst: p.value.inst, res: p.value.res }, value };
    this.resources.set(formatPath(record.path), record);
    for (const o of this.observers.values()) if (pathWithin(record.path, o.path)) this.#notify(o);
  }

  value(path: string): Lwm2mValue | undefined {
    return this.resources.get(path)?.value;
  }

  /** Sends raw bytes from this client's socket (malformed-input tests). */
  sendRaw(bytes: Buffer): void {
    this.#socket?.send(bytes, this.opts.server.port, this.opts.server.address);
  }

  /** A CON request retransmitted like Zephyr's (RFC 7252: ACK_TIMEOUT doubling, MAX_RETRANSMIT 4). */
  request(method: 'POST' | 'DELETE', path: string[], query: string[] = [], payload?: string | Buffer, cf?: number) {
    const token = newToken();
    const key = token.toString('hex');
    const mid = this.#nextMid();
    const opts: NamedOption[] = path.map((s) => ({ name: 'Uri-Path' as const, value: Buffer.from(s) }));
    if (cf !== undefined) opts.push({ name: 'Content-Format', value: uintOption(cf) });
    for (const q of query) opts.push({ name: 'Uri-Query', value: Buffer.from(q) });
    const packet = generate({
      code: method,
      confirmable: true,
      messageId: mid,
      token,
      options: opts,
      payload: payload === undefined ? Buffer.alloc(0) : Buffer.from(payload),
    });
    let timer: NodeJS.Timeout | undefined;
    let wait = this.opts.ackTimeoutMs * (1 + Math.random() * 0.5);
    let retransmissions = 0;
    const transmit = () => {
      this.sendRaw(packet);
      if (retransmissions++ >= MAX_RETRANSMIT) return;
      timer = setTimeout(transmit, wait);
      wait *= 2;
    };
    // An empty ACK means a separate response follows: stop retransmitting, keep waiting.
    this.#acked.set(mid, () => clearTimeout(timer));
    const answered = new Promise<ParsedPacket>((resolve) => this.#pending.set(key, resolve));
    transmit();
    const deadline = this.opts.ackTimeoutMs * 1.5 * (2 ** (MAX_RETRANSMIT + 1) - 1);
    return withTimeout(answered, deadline, `${method} /${path.join('/')} answer`).finally(() => {
      clearTimeout(timer);
      this.#pending.delete(key);
      this.#acked.delete(mid);
    });
  }

  #nextMid(): number {
    this.#mid = (this.#mid + 1) & 0xffff;
    return this.#mid;
  }

  #onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    let packet: ParsedPacket;
    try {
      packet = parse(msg);
    } catch {
      return;
    }
    const peer = { address: rinfo.address, port: rinfo.port };
    const method = METHOD_CODES[packet.code];
    if (!method) {
      if (packet.reset) this.#dropObserverByMid(packet.messageId);
      if (packet.ack) this.#acked.get(packet.messageId)?.();
      if (packet.code === '0.00') return;
      if (packet.confirmable) {
        this.#socket?.send(generate({ code: '0.00', ack: true, messageId: packet.messageId }), peer.port, peer.address);
      }
      this.emit('response', packet);
      this.#pending.get(packet.token.toString('hex'))?.(packet);
      return;
    }
    if (this.sleeping) return;
    this.#serve(packet, method, peer);
  }

  #dropObserverByMid(mid: number): void {
    const key = this.#notifyMids.get(mid);
    if (key) this.observers.delete(key);
  }

  #serve(packet: ParsedPacket, method: string, peer: { address: string; port: number }): boolean {
    const segs = options(packet, 'Uri-Path');
    const parsed = parsePath(segs.join('/'));
    const reply = (code: string, payload?: Buffer, cf?: number, extra: NamedOption[] = []) => {
      const opts: NamedOption[] = [...extra];
      if (cf !== undefined) opts.push({ name: 'Content-Format', value: uintOption(cf) });
      this.#socket?.send(
        generate({
          code,
          ack: packet.confirmable,
          messageId: packet.messageId,
          token: packet.token,
          options: opts,
          payload: payload ?? Buffer.alloc(0),
        }),
        peer.port,
        peer.address,
      );
      return true;
    };
    if (!parsed.ok) return reply('4.04');
    const path = parsed.value;
    const matching = [...this.resources.values()].filter((r) => pathWithin(r.path, path));
    const accept = uintOf(packet, 'Accept');
    const observe = uintOf(packet, 'Observe');
    if (method === 'GET' && accept === CF.linkFormat) {
      if (matching.length === 0) return reply('4.04');
      const links = [
        `<${formatPath(path)}>`,
        ...new Set(matching.map((r) => `<${formatPath({ ...r.path, ri: undefined })}>`)),
      ];
      this.emit('discover', formatPath(path));
      return reply('2.05', Buffer.from([...new Set(links)].join(',')), CF.linkFormat);
    }
    const override = method === 'GET' && observe === undefined ? this.answerOverride(formatPath(path)) : undefined;
    if (override !== undefined) return reply('2.05', Buffer.from(override), FORMAT_CF[this.opts.format]);
    if (method === 'GET') {
      if (matching.length === 0) return reply('4.04');
      const key = packet.token.toString('hex');
      const extra: NamedOption[] = [];
      // Zephyr (lwm2m_observation.c, engine_add_observer): the same server observing the same path again replaces the
      // observer's token, as the gateway does after a restart that lost the old one.
      const again = [...this.observers].find(
        ([, o]) =>
          formatPath(o.path) === formatPath(path) && o.peer.address === peer.address && o.peer.port === peer.port,
      );
      if (observe === 0 && this.observers.size >= this.opts.maxObservers && !this.observers.has(key) && !again) {
        this.emit('observe_refused', formatPath(path));
      } else if (observe === 0) {
        if (again) this.observers.delete(again[0]);
        this.observers.set(key, { token: packet.token, path, seq: again?.[1].seq ?? 2, peer });
        extra.push({ name: 'Observe', value: uintOption(1) });
        this.emit('observe', formatPath(path));
      } else if (observe === 1) {
        for (const [k, o] of this.observers) if (formatPath(o.path) === formatPath(path)) this.observers.delete(k);
        this.emit('cancel', formatPath(path));
      }
      const cf = this.#responseFormat(accept, path);
      const body = encodeBody(cf, matching, path);
      if (!body.ok) return reply('5.00');
      return reply('2.05', body.value, cf, extra);
    }
    const block1 = method === 'PUT' || method === 'POST' ? uintOf(packet, 'Block1') : undefined;
    let payload = packet.payload;
    if (block1 !== undefined) {
      // Zephyr's SenML JSON reader takes no Block1 transfer (lwm2m_rw_senml_json.c, do_write_op_senml_json: "Json
      // library not support Coap Block"); opaque and the other formats reassemble.
      if (uintOf(packet, 'Content-Format') === CF.senmlJson) return reply('5.00');
      const key = formatPath(path);
      const blocks = (block1 >> 4 === 0 ? undefined : this.#uploads.get(key)) ?? [];
      blocks.push(packet.payload);
      const echo: NamedOption[] = [{ name: 'Block1', value: uintOption(block1) }];
      if (block1 & 0x08) {
        this.#uploads.set(key, blocks);
        return reply('2.31', undefined, undefined, echo);
      }
      this.#uploads.delete(key);
      payload = Buffer.concat(blocks);
    }
    if (method === 'PUT' && payload.length === 0) {
      const attrs = Object.fromEntries(options(packet, 'Uri-Query').map((q) => q.split('=') as [string, string]));
      this.attributes.set(formatPath(path), attrs);
      this.emit('attributes', formatPath(path), attrs);
      return reply('2.04');
    }
    const def = path.res === undefined ? undefined : model.resource(path.obj, path.res);
    if (method === 'POST' && def?.operations.includes('E')) {
      this.emit('execute', formatPath(path), payload.toString());
      return reply('2.04');
    }
    if (method === 'POST' && path.inst === undefined) {
      const decoded = decodePayload(uintOf(packet, 'Content-Format'), payload, path, model.typeOf);
      if (!decoded.ok || decoded.value.length === 0) return reply('4.00');
      const exists = decoded.value.some((r) => matching.some((m) => m.path.inst === r.path.inst));
      if (exists) return reply('4.00');
      for (const r of decoded.value) this.resources.set(formatPath(r.path), r);
      this.emit('create', formatPath(path), decoded.value);
      return reply('2.01');
    }
    if (method === 'DELETE') {
      if (path.inst === undefined || path.res !== undefined || matching.length === 0) return reply('4.04');
      for (const r of matching) this.resources.delete(formatPath(r.path));
      this.emit('delete', formatPath(path));
      return reply('2.02');
    }
    if (method === 'PUT' || method === 'POST') {
      const cf = uintOf(packet, 'Content-Format');
      const decoded = decodePayload(cf, payload, path, model.typeOf);
      if (!decoded.ok) return reply('4.00');
      for (const r of decoded.value) this.setValue(formatPath(r.path), r.value);
      this.emit('write', formatPath(path), decoded.value, cf);
      return reply('2.04');
    }
    return reply('4.05');
  }

  // Zephyr answers in the Accept format when built with it; single resources without Accept go as text.
  #responseFormat(accept: number | undefined, path: Lwm2mPath): number {
    const own = FORMAT_CF[this.opts.format];
    if (accept !== undefined && [CF.tlv, CF.senmlJson, CF.senmlCbor, CF.text].includes(accept as 0)) {
      if (accept === CF.text && path.res === undefined) return own;
      return accept;
    }
    return own;
  }

  #notify(o: Observer): void {
    const matching = [...this.resources.values()].filter((r) => pathWithin(r.path, o.path));
    const cf = FORMAT_CF[this.opts.format];
    const body = encodeBody(cf, matching, o.path);
    if (!body.ok || !this.#socket) return;
    const mid = this.#nextMid();
    this.#notifyMids.set(mid, o.token.toString('hex'));
    if (this.#notifyMids.size > 256) this.#notifyMids.delete(this.#notifyMids.keys().next().value ?? mid);
    const packet = generate({
      code: '2.05',
      confirmable: true,
      messageId: mid,
      token: o.token,
      options: [
        { name: 'Observe', value: uintOption(o.seq++) },
        { name: 'Content-Format', value: uintOption(cf) },
      ],
      payload: body.value,
    });
    this.#socket.send(packet, o.peer.port, o.peer.address);
  }
}
