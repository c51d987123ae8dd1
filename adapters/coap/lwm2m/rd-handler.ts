// The registration interface: Register (POST /rd), Update (POST /rd/<id>), De-register (DELETE /rd/<id>).
import type { CoapIncomingRequest, CoapOutgoingResponse, CoapPeer, CoapRequestHandler } from '../endpoint.js';
import { CF } from './codecs/content-format.js';
import { type LinkEntry, SharedLinkParser } from './link-format.js';
import { parseRegisterQuery, parseUpdateQuery, supportedVersion } from './registration-query.js';
import { newRegistrationId, type Registration, type RegistrationStore } from './registration-store.js';

export interface Admission {
  accept: boolean;
  deviceId?: string | undefined;
}

export interface RdHooks {
  store: RegistrationStore;
  /** Maps the endpoint name to a configured device, or refuses it (4.03). */
  admit(endpoint: string, peer: CoapPeer): Admission;
  registered(reg: Registration, replaced: Registration | undefined): void;
  /** `previousLinks` is set when the Update carried a new link payload. */
  updated(reg: Registration, previousLinks: readonly LinkEntry[] | undefined): void;
  deregistered(reg: Registration): void;
  /** A request that could not be accepted as sent (already answered with a 4.xx). */
  malformed(reason: string, req: CoapIncomingRequest): void;
  /** Wall clock, for registeredAt and lastUpdate (shown to users). */
  now(): number;
  /** Monotonic clock, for lastHeard (the queue-mode wake window); lastHeardAt is the wall clock's now(). */
  monotonicNow(): number;
  maxRegistrations: number;
}

// Preference when the client announces several formats.
const FORMAT_PREFERENCE = [CF.senmlCbor, CF.senmlJson, CF.lwm2mJson, CF.tlv];

export function preferredFormat(links: readonly LinkEntry[]): number {
  const ct = links.find((l) => l.path === undefined)?.attrs.ct;
  if (typeof ct !== 'string') return CF.tlv;
  const announced = ct.split(/[\s,]+/).map(Number);
  return FORMAT_PREFERENCE.find((f) => announced.includes(f)) ?? CF.tlv;
}

export function createRdHandler(hooks: RdHooks): CoapRequestHandler {
  const reject = (req: CoapIncomingRequest, code: string, reason: string): CoapOutgoingResponse => {
    hooks.malformed(reason, req);
    return { code, payload: reason };
  };

  const linkParser = new SharedLinkParser();
  const parseLinks = (req: CoapIncomingRequest) => {
    if (req.contentFormat !== undefined && req.contentFormat !== CF.linkFormat) return undefined;
    return linkParser.parse(req.payload.toString('utf8'));
  };

  const register = (req: CoapIncomingRequest): CoapOutgoingResponse => {
    const links = parseLinks(req);
    if (!links) return reject(req, '4.15', `registration payload must be link format (40), got ${req.contentFormat}`);
    const params = parseRegisterQuery(req.query);
    if (!params.ok) return reject(req, '4.00', params.error);
    if (!links.ok) return reject(req, '4.00', `registration payload: ${links.error}`);
    // LwM2M 1.1 §6.2.1 (Register): 4.12 when the client's LwM2M version is not one the server supports, so that a
    // client speaking several versions can register again with an older one; Wakaama's server answers the same.
    const { version } = params.value;
    if (!supportedVersion(version)) return reject(req, '4.12', `LwM2M ${version} is not supported (1.0 to 1.2)`);
    if (hooks.store.size >= hooks.maxRegistrations && !hooks.store.byEndpoint(params.value.endpoint)) {
      return { code: '5.03', payload: 'registration limit reached' };
    }
    const admission = hooks.admit(params.value.endpoint, req.source);
    if (!admission.accept) return { code: '4.03', payload: 'endpoint not allowed' };
    const now = hooks.now();
    const reg: Registration = {
      id: newRegistrationId(),
      endpoint: params.value.endpoint,
      version: params.value.version,
      lifetime: params.value.lifetime,
      binding: params.value.binding,
      queueMode: params.value.queueMode,
      peer: { ...req.source },
      links: links.value,
      contentFormat: preferredFormat(links.value),
      registeredAt: now,
      lastUpdate: now,
      lastHeard: hooks.monotonicNow(),
      lastHeardAt: now,
      deviceId: admission.deviceId,
    };
    const replaced = hooks.store.add(reg);
    hooks.registered(reg, replaced);
    return { code: '2.01', locationPath: ['rd', reg.id] };
  };

  // The id is unguessable, and an Update/De-register must also come from the registered IP address.
  const owned = (req: CoapIncomingRequest, id: string): Registration | CoapOutgoingResponse => {
    const reg = hooks.store.get(id);
    if (!reg) return { code: '4.04', payload: 'no such registration' };
    if (reg.peer.address !== req.source.address) {
      return reject(req, '4.03', `registration ${reg.endpoint} belongs to another address (${req.source.address})`);
    }
    return reg;
  };

  const update = (req: CoapIncomingRequest, id: string): CoapOutgoingResponse => {
    const reg = owned(req, id);
    if ('code' in reg) return reg;
    const params = parseUpdateQuery(req.query);
    if (!params.ok) return reject(req, '4.00', params.error);
    let previousLinks: readonly LinkEntry[] | undefined;
    if (req.payload.length > 0) {
      const links = parseLinks(req);
      if (!links) return reject(req, '4.15', `update payload must be link format (40), got ${req.contentFormat}`);
      if (!links.ok) return reject(req, '4.00', `update payload: ${links.error}`);
      previousLinks = reg.links;
      reg.links = links.value;
      reg.contentFormat = preferredFormat(links.value);
    }
    Object.assign(reg, params.value);
    reg.peer = { ...req.source };
    reg.lastUpdate = hooks.now();
    reg.lastHeard = hooks.monotonicNow();
    reg.lastHeardAt = reg.lastUpdate;
    hooks.updated(reg, previousLinks);
    return { code: '2.04' };
  };

  const deregister = (req: CoapIncomingRequest, id: string): CoapOutgoingResponse => {
    const reg = owned(req, id);
    if ('code' in reg) return reg;
    hooks.store.remove(reg.id);
    hooks.deregistered(reg);
    return { code: '2.02' };
  };

  return (req) => {
    const [, id, ...rest] = req.path;
    if (rest.length > 0) return { code: '4.04' };
    if (id === undefined) return req.method === 'POST' ? register(req) : { code: '4.05' };
    if (req.method === 'POST') return update(req, id);
    if (req.method === 'DELETE') return deregister(req, id);
    return { code: '4.05' };
  };
}
