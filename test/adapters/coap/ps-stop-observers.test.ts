// When the adapter stops (gateway shutdown or restart) its /ps/<id>/set relations end with a NON 5.03 without
// Observe and a Max-Age (RFC 7641 §3.2, RFC 7252 §5.9.3.4): the relations do not survive the restart, and a device
// told so registers again after Max-Age instead of waiting for commands that would never reach it. The relations are
// then not restored at the next start (the device registers again: it would get every command twice), the last
// command is: a device that had not picked it up gets it on its registration, one that had tells it by its ETag.
// A relation whose 5.03 could not leave (the socket closed under the adapter, or refused the datagram) still runs on
// the device: it stays saved and is restored, as after a crash.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { type CoapHarness, firstNotification, startCoapHarness } from './harness.js';
import { psSetRequests } from './ps-set-requests.js';
import { frame, RawPeer } from './raw-peer.js';
import { type CoapGateway, savedFile, startCoapGateway, writeSavedFile } from './restartable-gateway.js';

let h: CoapHarness | undefined;
let g: CoapGateway | undefined;
let peer: RawPeer | undefined;
let dataDir = '';
afterEach(async () => {
  peer?.close();
  peer = undefined;
  await h?.stop();
  h = undefined;
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});

/** GET /ps/dev1/set, CON: a poll, or a registration with `observe`, naming `etags`. */
const { next: get, lastToken } = psSetRequests('dev1');

describe('/ps/<id>/set observers when the adapter stops', () => {
  it('are told with a 5.03 without Observe that carries a Max-Age to register again after', async () => {
    h = await startCoapHarness([{ id: 'dev1', transport: 'coap' }]);
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
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
    const dev1 = [{ id: 'dev1', transport: 'coap' }];
    g = await startCoapGateway(dataDir, dev1);
    const port = g.port;
    peer = await RawPeer.open();
    expect((await peer.exchange(get({ observe: true }), port))?.observe).toBeTypeOf('number');
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const note = await peer.next(5000);
    expect(note?.payload.toString()).toBe('{"led":"on"}');
    peer.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0 }), port);
    const etag = note?.etag;
    if (!etag) throw new Error('the notification has no ETag');
    await savedFile(dataDir, (s) => s.devices.dev1?.command !== undefined);

    await g.gw.stop();
    g = undefined;
    expect((await peer.next(5000))?.code).toBe('5.03');
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers).toEqual([]);

    g = await startCoapGateway(dataDir, dev1, { port });
    expect(g.adapter.status().details?.command_observers).toBe(0);
    // The device that ran it polls with its ETag: nothing new.
    expect((await peer.exchange(get({ etags: [etag] }), port))?.code).toBe('2.03');
    // A device that registers again gets it, with the ETag that tells it is the one it ran.
    const again = await peer.exchange(get({ observe: true }), port);
    expect(again?.payload.toString()).toBe('{"led":"on"}');
    expect(again?.etag?.equals(etag)).toBe(true);
    expect(g.adapter.status().details?.command_observers).toBe(1);
  });

  it('stay saved when the socket closed under the adapter (no 5.03 left), and are restored as after a crash', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
    const dev1 = [{ id: 'dev1', transport: 'coap' }];
    g = await startCoapGateway(dataDir, dev1);
    const port = g.port;
    peer = await RawPeer.open();
    expect((await peer.exchange(get({ observe: true }), port))?.observe).toBeTypeOf('number');
    const token = lastToken();
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);

    await g.adapter.endpoint.stop();
    await g.gw.stop();
    g = undefined;
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers.map((o) => o.token)).toEqual([token.toString('hex')]);

    // The device heard no 5.03 and waits on its token: the first thing it gets is the next command.
    g = await startCoapGateway(dataDir, dev1, { port });
    expect(g.adapter.status().details?.command_observers).toBe(1);
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'off' }));
    const note = await peer.next(5000);
    expect([note?.code, note?.token.equals(token), note?.payload.toString()]).toEqual(['2.05', true, '{"led":"off"}']);
    peer.send(frame({ type: 'ACK', code: '0.00', mid: note?.messageId ?? 0 }), port);
  });

  it('stay saved when a notification was still unacknowledged as the socket closed under the adapter', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-stop-'));
    const dev1 = [{ id: 'dev1', transport: 'coap' }];
    // Retransmitted for at least 14 s: still unacknowledged when the adapter stops.
    g = await startCoapGateway(dataDir, dev1, { coap: { ack_timeout: 2 } });
    peer = await RawPeer.open();
    expect((await peer.exchange(get({ observe: true }), g.port))?.observe).toBeTypeOf('number');
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);

    await g.adapter.endpoint.stop();
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    await savedFile(dataDir, (s) => s.devices.dev1?.command !== undefined);
    await g.gw.stop();
    g = undefined;
    const saved = await savedFile(dataDir, () => true);
    expect(saved.devices.dev1?.observers.map((o) => o.token)).toEqual([lastToken().toString('hex')]);
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
