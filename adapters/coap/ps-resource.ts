// The device-initiated pub-sub resource: PUT/POST /ps/<id>[/<property>] updates state, GET /ps/<id>/set
// (optionally with Observe) hands out MQTT /set commands. Every method gets an answer.
import type { AdapterContext } from '../../gateway/adapter.js';
import { suggestDeviceId } from '../../gateway/config/suggested-id.js';
import type { CommandObservers } from './command-observers.js';
import {
  decodeStatePayload,
  encodeCommand,
  isAcceptable,
  isValidPropertyName,
  unreadableContentFormat,
} from './content-format.js';
import type { CoapIncomingRequest, CoapObserveRefused, CoapOutgoingResponse } from './endpoint.js';
import type { IdentityResolver } from './identity.js';

export interface PsResourceDeps {
  ctx: AdapterContext;
  identity: () => IdentityResolver;
  observers: CommandObservers;
}

/** The one reason the gateway refuses values of a device the identity check accepted. */
const STATE_LIMIT_REFUSAL = 'device state over api.max_state_properties or api.max_state_bytes';

const text = (code: string, message: string): CoapOutgoingResponse => ({ code, contentFormat: 0, payload: message });

const NOT_ACCEPTABLE = text('4.06', 'commands are sent as JSON (50), CBOR (60) or SenML (110/112)');

/** Values the gateway did not take because this adapter instance is stopping or replaced: the device sends them again
 * after Max-Age (RFC 7252 §5.9.3.4), by when the instance that follows serves it. */
const STOPPED: CoapOutgoingResponse = { ...text('5.03', 'gateway restarting the CoAP adapter: send again'), maxAge: 5 };

type Gate =
  | { ok: true; deviceId: string; property: string | undefined; isCommandResource: boolean }
  | { ok: false; response: CoapOutgoingResponse; reason: RefusalReason; deviceId?: string; unknownId?: string };

/** Counted and logged (rate-limited) like decode errors, so that `LOG_LEVELS=coap=debug` is not needed to see why a
 * device's reports go nowhere. */
type RefusalReason = 'coap_bad_request' | 'coap_unknown_device' | 'coap_identity';

/** Path, method and identity: everything about a request that does not need its payload. */
function gate(deps: PsResourceDeps, req: Omit<CoapIncomingRequest, 'payload'>): Gate {
  const id = req.path[1];
  const property = req.path[2];
  const refuse = (code: string, message: string): Gate => ({
    ok: false,
    response: text(code, message),
    reason: 'coap_bad_request',
  });
  if (req.path.length > 3) return refuse('4.04', 'paths are /ps/<device-id>[/<property>]');
  const isCommandResource = property === 'set';
  if (req.method === 'GET') {
    if (!isCommandResource) return refuse('4.05', 'GET is served on /ps/<device-id>/set (commands)');
  } else if (req.method !== 'PUT' && req.method !== 'POST') {
    return refuse('4.05', 'use PUT or POST to publish, GET /ps/<id>/set to receive commands');
  } else if (isCommandResource) {
    return refuse('4.05', '/ps/<device-id>/set is read-only: GET (Observe) to receive commands');
  }
  if (property !== undefined && !isCommandResource && !isValidPropertyName(property)) {
    return refuse('4.00', `invalid property name "${property.slice(0, 64)}"`);
  }
  const who = deps.identity().resolve(id === '' ? undefined : id, req.query, req.source);
  if (!who.ok) {
    const response = text(who.code, who.error);
    if (who.code === '4.04') {
      const unknownId = who.unknownId;
      return { ok: false, response, reason: 'coap_unknown_device', ...(unknownId !== undefined ? { unknownId } : {}) };
    }
    return { ok: false, response, reason: 'coap_identity', ...(id ? { deviceId: id } : {}) };
  }
  return { ok: true, deviceId: who.deviceId, property, isCommandResource };
}

/**
 * Run on the first block of a Block1 upload, before the transport buffers the rest: a peer that may not publish
 * here, or an upload in a Content-Format that gets 4.15 whatever its bytes, is refused at once instead of holding up
 * to max_payload of memory per upload until the last block.
 */
export function createPsAdmit(
  deps: PsResourceDeps,
): (req: Omit<CoapIncomingRequest, 'payload'>) => CoapOutgoingResponse | undefined {
  return (req) => {
    const g = gate(deps, req);
    // An unknown device while permit_join is on is announced by the handler, which needs the request whole.
    if (!g.ok && !(g.unknownId !== undefined && deps.ctx.permitJoin())) return countRefusal(deps.ctx, g, req);
    const unreadable = unreadableContentFormat(req.contentFormat);
    if (unreadable === undefined) return undefined;
    deps.ctx.decodeError('coap_content_format', {
      ...(g.ok ? { deviceId: g.deviceId } : {}),
      error: `${unreadable} (Block1 upload refused at its first block)`,
    });
    return text('4.15', unreadable);
  };
}

/**
 * A device not onboarded publishing while permit_join is on: refused with 4.03 when it is on the blocklist, else
 * announced on bridge/event with an entry that
 * `device/add` takes as it is (a valid id; the device's own id as `ps_id` when that is not one; its address),
 * once its request was checked as a known device's would be. Undefined when it cannot be announced (the address is
 * another device's, or the id cannot be a `ps_id`): the caller refuses it as unknown.
 */
function announce(deps: PsResourceDeps, req: CoapIncomingRequest, unknownId: string): CoapOutgoingResponse | undefined {
  const { ctx } = deps;
  if (/[/?#]/.test(unknownId) || deps.identity().isBound(req.source.address)) return undefined;
  if (req.method === 'GET' && !isAcceptable(req.accept)) return NOT_ACCEPTABLE;
  if (req.method !== 'GET') {
    const decoded = decodeStatePayload(req.contentFormat, req.payload, req.path[2]);
    if (!decoded.ok) {
      ctx.decodeError(decoded.code === '4.15' ? 'coap_content_format' : 'coap_payload', {
        bytes: req.payload,
        error: `${decoded.error} (unknown device "${unknownId.slice(0, 64)}")`,
      });
      return text(decoded.code, decoded.error);
    }
  }
  // Unique among all configured ids (/ps/Kitchen beside a device "kitchen"): the device keeps its own as ps_id.
  const suggested = suggestDeviceId(unknownId, 'coap-device');
  const id = ctx.freeDeviceId?.(suggested) ?? suggested;
  const verdict = ctx.deviceSeen({
    transport: 'coap',
    // The IP alone: a client's source port changes between requests, the announcement should not.
    address: req.source.address,
    name: unknownId,
    suggested_config: {
      id,
      transport: 'coap',
      address: req.source.address,
      ...(id !== unknownId ? { ps_id: unknownId } : {}),
    },
  });
  // Counted by the gateway.
  if (verdict === 'blocked') return text('4.03', "blocked: this device is on the gateway's blocklist");
  // GET /ps/<id>/set: no command yet, in the format an onboarded device would get it, and no Observe (not registered).
  // A text here would reach a device that runs whatever its command resource returns.
  if (req.method === 'GET') return { code: '2.05', ...encodeCommand(req.accept, {}) };
  return text(req.method === 'POST' ? '2.01' : '2.04', 'announced: onboard the device to keep its data');
}

function countRefusal(
  ctx: AdapterContext,
  g: Extract<Gate, { ok: false }>,
  req: Omit<CoapIncomingRequest, 'payload'>,
): CoapOutgoingResponse {
  const from = req.source.address.includes(':') ? `[${req.source.address}]` : req.source.address;
  ctx.decodeError(g.reason, {
    ...(g.deviceId !== undefined && g.reason === 'coap_identity' ? { deviceId: g.deviceId } : {}),
    error: `${req.method} /${req.path.join('/')} from ${from}:${req.source.port}: ${g.response.code} ${String(g.response.payload)}`,
  });
  return g.response;
}

/**
 * A GET /ps/<id>/set with Observe answered with an error, by the handler or by the transport, leaves no relation on its
 * token (RFC 7641 §3.2, §4.1): the device takes it so, and a relation kept there would send it the next command on a
 * token it dropped (RST).
 */
export function createPsObserveRefused(deps: PsResourceDeps): CoapObserveRefused {
  return (req) => {
    const [, id, property] = req.path;
    if (req.method !== 'GET' || req.path.length !== 3 || property !== 'set' || id === undefined) return;
    // An empty id (`/ps//set`) is resolved as gate() resolves it: by ?token=, else by address.
    const deviceId = deps.identity().deviceNamed(id === '' ? undefined : id, req.query, req.source);
    if (deviceId !== undefined) deps.observers.remove(deviceId, req.source, req.token);
  };
}

export function createPsHandler(deps: PsResourceDeps): (req: CoapIncomingRequest) => CoapOutgoingResponse {
  const { ctx, observers } = deps;
  return serve;

  function serve(req: CoapIncomingRequest): CoapOutgoingResponse {
    const g = gate(deps, req);
    if (!g.ok) {
      if (g.unknownId !== undefined && ctx.permitJoin())
        return announce(deps, req, g.unknownId) ?? countRefusal(ctx, g, req);
      return countRefusal(ctx, g, req);
    }
    const { deviceId, property, isCommandResource } = g;
    if (isCommandResource) {
      ctx.countMessage('in');
      return serveCommands(deps, deviceId, req);
    }

    const decoded = decodeStatePayload(req.contentFormat, req.payload, property);
    if (!decoded.ok) {
      ctx.decodeError(decoded.code === '4.15' ? 'coap_content_format' : 'coap_payload', {
        deviceId,
        bytes: req.payload,
        error: decoded.error,
      });
      return text(decoded.code, decoded.error);
    }
    // Only now: a payload refused as undecodable is a decode error, not a message.
    ctx.countMessage('in');
    // Counted and logged by the gateway; the device is told why.
    switch (ctx.telemetry(deviceId, decoded.values)) {
      case 'state_limit':
        return text('4.13', STATE_LIMIT_REFUSAL);
      case 'unserializable':
        return text('4.00', 'values nested too deep to be written as JSON');
      case 'unknown_device':
        return text('4.04', 'unknown device (removed from the config?)');
      case 'stopped':
        return STOPPED;
      default:
        return { code: req.method === 'POST' ? '2.01' : '2.04' };
    }
  }

  function serveCommands(d: PsResourceDeps, deviceId: string, req: CoapIncomingRequest): CoapOutgoingResponse {
    if (!isAcceptable(req.accept)) return NOT_ACCEPTABLE;
    ctx.availability(deviceId, true);
    const etag = observers.etag(deviceId);
    // A device that polls, or registers again (RFC 7641 §4.3.2), sends the ETag of the command it has: 2.03 Valid
    // says there is no newer one, so a device that already ran the kept command does not get it again.
    const answer: CoapOutgoingResponse =
      etag && req.etags?.some((e) => e.equals(etag))
        ? { code: '2.03', etag }
        : { code: '2.05', ...encodeCommand(req.accept, observers.last(deviceId) ?? {}), ...(etag ? { etag } : {}) };
    if (req.observe === 0) {
      // Too many relations: answered without Observe, which tells the client it is not registered (RFC 7641 §4.1).
      if (!observers.admits(deviceId, req.source)) return answer;
      const observer = { peer: req.source, token: req.token, accept: req.accept, block2Szx: req.block2Szx };
      // Registered once the answer is sure to be a 2.xx (a Block2 past the end of the command is a 4.02, which ends
      // a relation on this token through createPsObserveRefused).
      const onObserving = (): void => {
        observers.add(deviceId, observer);
      };
      return { ...answer, observe: observers.currentSequence(deviceId), onObserving };
    }
    if (req.observe === 1) d.observers.remove(deviceId, req.source, req.token);
    return answer;
  }
}
