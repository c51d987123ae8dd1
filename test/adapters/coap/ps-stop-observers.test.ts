// When the adapter stops (gateway shutdown or restart) its /ps/<id>/set relations end with a NON 5.03 without
// Observe and a Max-Age (RFC 7641 §3.2, RFC 7252 §5.9.3.4): the relations do not survive the restart, and a device
// told so registers again after Max-Age instead of waiting for commands that would never reach it. The relations are
// then not restored at the next start (the device registers again: it would get every command twice), the last
// command is: a device that had not picked it up gets it on its registration, one that had tells it by its ETag.
// A relation whose 5.03 could not leave (the socket closed under the adapter, or refused the datagram) still runs on
// the device: it stays saved and is restored, as after a crash.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { coapHarness, firstNotification, stopHarnessesAfterEach } from './harness.js';
import { OBSERVE } from './option-numbers.js';
import { psSetRequests } from './ps-set-requests.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';
import { type CoapGateway, observersFile, savedFile, startCoapGateway, writeSavedFile } from './restartable-gateway.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

let g: CoapGateway | undefined;
let dataDir = '';
afterEach(async () => {
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});
// Registered after the hook above, so that they run first: devices close, then peers, then the harness stops, and
// then the gateway.
stopHarnessesAfterEach();
closePeersAfterEach();
closeDevicesAfterEach();

const PS_TOKEN = 'dev1-secret-0123';
/** GET /ps/dev1/set, CON: a poll, or a registration with `observe`, naming `etags`. */
const { next: get, lastToken } = psSetRequests('dev1');

const DEV1 = [{ id: 'dev1', transport: 'coap' }];

/** A gateway on a data dir of its own (`coap`: adapter settings) whose dev1 a raw peer observes (GET, Observe 0). */
async function observedByPeer(
  coap: Record<string, unknown> = {},
): Promise<{ gateway: CoapGateway; observer: RawPeer; port: number }> {
  dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
  const gateway = await startCoapGateway(dataDir, DEV1, { coap });
  g = gateway;
  const observer = await rawPeer();
  expect((await observer.exchange(get({ observe: true }), gateway.port))?.observe).toBeTypeOf('number');
  return { gateway, observer, port: gateway.port };
}

describe('/ps/<id>/set observers when the adapter stops', () => {
  it('are told with a 5.03 without Observe that carries a Max-Age to register again after', async () => {
    const h = await coapHarness([{ id: 'dev1', transport: 'coap' }]);
    const { onNote: ended, note: end } = firstNotification();
    const observation = await h.device.observe(
      { peer: { address: '::1', port: h.port }, method: 'GET', path: ['ps', 'dev1', 'set'], timeoutMs: 3000 },
      (res) => ended(res),
    );
    expect(observation.first.observe).toBeTypeOf('number');

    await h.adapter.stop();
    const res = await end;
    expect([res.code, res.observe, res.maxAge]).toEqual(['5.03', undefined, 10]);
  });

  it('are not restored at the next start, while the last command is, with its ETag', async () => {
    const { gateway, observer, port } = await observedByPeer();
    await gateway.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const note = await observer.next(5000);
    expect(note?.payload.toString()).toBe('{"led":"on"}');
    observer.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0 }), port);
    const etag = note?.etag;
    if (!etag) throw new Error('the notification has no ETag');
    await savedFile(dataDir, (s) => s.devices.dev1?.command !== undefined);

    await gateway.gw.stop();
    g = undefined;
    expect((await observer.next(5000))?.code).toBe('5.03');
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers).toEqual([]);

    g = await startCoapGateway(dataDir, DEV1, { port });
    expect(g.adapter.status().details?.command_observers).toBe(0);
    // The device that ran it polls with its ETag: nothing new.
    expect((await observer.exchange(get({ etags: [etag] }), port))?.code).toBe('2.03');
    // A device that registers again gets it, with the ETag that tells it is the one it ran.
    const again = await observer.exchange(get({ observe: true }), port);
    expect(again?.payload.toString()).toBe('{"led":"on"}');
    expect(again?.etag?.equals(etag)).toBe(true);
    expect(g.adapter.status().details?.command_observers).toBe(1);
  });

  it('stay saved when the socket closed under the adapter (no 5.03 left), and are restored as after a crash', async () => {
    const { gateway, observer, port } = await observedByPeer();
    const token = lastToken();
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);

    await gateway.adapter.endpoint.stop();
    await gateway.gw.stop();
    g = undefined;
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers.map((o) => o.token)).toEqual([token.toString('hex')]);

    // The device heard no 5.03 and waits on its token: the first thing it gets is the next command.
    g = await startCoapGateway(dataDir, DEV1, { port });
    expect(g.adapter.status().details?.command_observers).toBe(1);
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'off' }));
    const note = await observer.next(5000);
    expect([note?.code, note?.token.equals(token), note?.payload.toString()]).toEqual(['2.05', true, '{"led":"off"}']);
    observer.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0 }), port);
  });

  it('stay saved when a notification was still unacknowledged as the socket closed under the adapter', async () => {
    // Retransmitted for at least 14 s: still unacknowledged when the adapter stops.
    const { gateway } = await observedByPeer({ ack_timeout: 2 });
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);

    await gateway.adapter.endpoint.stop();
    await gateway.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    await savedFile(dataDir, (s) => s.devices.dev1?.command !== undefined);
    await gateway.gw.stop();
    g = undefined;
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers.map((o) => o.token)).toEqual([lastToken().toString('hex')]);
  });

  it('are told and saved within the time the gateway gives the adapter to stop, though a device it observes is silent', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
    // A device whose resource the gateway observes answers the registration, then nothing more: its deregistration
    // at the stop gets no answer (retransmitted up to the exchange's 5 s with these timings).
    let answering = true;
    const node = await scriptedDevice((m, d) => {
      if (answering && m.type === 'CON' && m.code === '0.01') d.ack(m, { code: '2.05', options: [[OBSERVE, [1]]] });
    });
    const devices = [
      // Identified by its token: the address it sends from (::1) is the observed device's.
      { id: 'dev1', transport: 'coap', token: PS_TOKEN },
      {
        id: 'node',
        transport: 'coap',
        address: '::1',
        port: node.port,
        resources: { t: { path: '/t', observe: true } },
      },
    ];
    g = await startCoapGateway(dataDir, devices, { coap: { ack_timeout: 1 } });
    await node.waitFor((m) => m.code === '0.01');
    answering = false;
    const peer = await rawPeer();
    const registration = get({ observe: true, query: [`token=${PS_TOKEN}`] });
    expect((await peer.exchange(registration, g.port))?.observe).toBeTypeOf('number');
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);

    await g.gw.stop();
    g = undefined;
    // The gateway gives an adapter 3 s to stop, then goes on (and exits, on a shutdown): all of it is done by then.
    expect(JSON.parse(await readFile(observersFile(dataDir), 'utf8')).devices).toEqual({});
    expect((await peer.next(1000))?.code).toBe('5.03');
    // The deregistration (RFC 7641 §3.6) still went out, once: the socket closed before its first retransmission.
    expect(node.received.filter((r) => r.message.code === '0.01' && r.message.observe === 1)).toHaveLength(1);
  });

  it('stay saved when the socket refuses the 5.03 (no route to the device from the address it is bound to)', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
    // An IPv4 observer, which a socket bound to ::1 cannot reach (ENETUNREACH).
    const observer = { address: '127.0.0.1', port: 5683, token: 'e1' };
    await writeSavedFile(
      dataDir,
      JSON.stringify({ format: 1, saved_at: new Date().toISOString(), devices: { dev1: { observers: [observer] } } }),
    );
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    g = await startCoapGateway(dataDir, [{ id: 'dev1', transport: 'coap' }], { logger });
    expect(g.adapter.status().details?.command_observers).toBe(1);

    await g.gw.stop();
    g = undefined;
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers).toEqual([observer]);
    expect(lines.find((l) => String(l.msg).includes('could not be told'))).toMatchObject({ relations: 1 });
  });
});
