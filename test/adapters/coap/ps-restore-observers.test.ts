// /ps/<id>/set relations survive a crash of the gateway: they are saved in its data dir while it runs and restored at
// its start, so that a command published after the restart reaches the device on its old token and with an observe
// number it takes as newer (RFC 7641 §4.4), while the device, which cannot know the gateway restarted, just waits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { RESTORED_SEQUENCE_JUMP } from '../../../adapters/coap/command-observers.js';
import type { CoapMessage } from '../../../adapters/coap/transport/message.js';
import { OBSERVE, URI_PATH } from './option-numbers.js';
import { closePeersAfterEach, frame, type RawPeer, rawPeer } from './raw-peer.js';
import { type CoapGateway, crash, savedFile, startCoapGateway, writeSavedFile } from './restartable-gateway.js';

let dataDir = '';
let g: CoapGateway | undefined;
afterEach(async () => {
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});
closePeersAfterEach();

/** GET /ps/<id>/set with Observe 0 on `token`: the registration's answer. */
async function register(peer: RawPeer, port: number, id: string, token: number[]): Promise<CoapMessage> {
  const answer = await peer.exchange(
    frame({
      type: 'CON',
      code: '0.01',
      mid: 0x100 + (token[0] ?? 0),
      token,
      options: [
        [OBSERVE, []],
        [URI_PATH, 'ps'],
        [URI_PATH, id],
        [URI_PATH, 'set'],
      ],
    }),
    port,
  );
  if (answer?.observe === undefined) throw new Error(`not registered: ${JSON.stringify(answer)}`);
  return answer;
}

/** The next notification, acknowledged (or rejected with RST, as a device that rebooted does). */
async function notification(peer: RawPeer, port: number, reply: 'ACK' | 'RST' = 'ACK'): Promise<CoapMessage> {
  const note = await peer.next(5000);
  if (!note) throw new Error('no notification within 5 s');
  peer.send(frame({ type: reply, code: '0.00', mid: note.messageId }), port);
  return note;
}

/** RFC 7641 §4.4, within 128 s: whether a client that has seen `v1` takes `v2` as newer. */
const newer = (v1: number, v2: number) => (v1 < v2 && v2 - v1 < 2 ** 23) || (v1 > v2 && v1 - v2 > 2 ** 23);

const dev1 = [{ id: 'dev1', transport: 'coap' }];
const observers = (x: CoapGateway) => x.adapter.status().details?.command_observers;

describe('/ps/<id>/set relations across a crash of the gateway', () => {
  it('notifies the old token after the restart; a device that rebooted meanwhile (RST) is dropped', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-restore-'));
    g = await startCoapGateway(dataDir, dev1);
    const port = g.port;
    const device = await rawPeer();
    await register(device, port, 'dev1', [0xa1, 2, 3, 4]);
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1);
    await crash(g);

    g = await startCoapGateway(dataDir, dev1, { port });
    expect(observers(g)).toBe(1);
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const note = await notification(device, port);
    expect(note.type).toBe('CON');
    expect(note.token.toString('hex')).toBe('a1020304');
    expect(note.payload.toString()).toBe('{"led":"on"}');

    // The device rebooted and forgot the relation: it rejects the next notification, which ends the relation.
    const failed = g.gw.waitForMessage<{ error: string }>(g.mqtt, 'zephyr2mqtt/dev1/set/error');
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'off' }));
    expect((await notification(device, port, 'RST')).payload.toString()).toBe('{"led":"off"}');
    expect((await failed).error).toMatch(/\/ps\/dev1\/set observer rejected the command with RST/);
    expect(observers(g)).toBe(0);
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 0);
  });

  it('numbers the notifications after the restart so that the device takes them as newer', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-restore-'));
    g = await startCoapGateway(dataDir, dev1);
    const port = g.port;
    const device = await rawPeer();
    const registered = await register(device, port, 'dev1', [0xb1]);
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ n: 1 }));
    const before = (await notification(device, port)).observe as number;
    expect(newer(registered.observe as number, before)).toBe(true);
    await savedFile(dataDir, (s) => s.devices.dev1?.sequence === before);

    // Two crashes in a row, the second before anything was sent: the number must not run ahead twice.
    await crash(g);
    g = await startCoapGateway(dataDir, dev1, { port });
    await crash(g);
    g = await startCoapGateway(dataDir, dev1, { port });
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ n: 2 }));
    const after = await notification(device, port);
    expect(after.payload.toString()).toBe('{"n":2}');
    expect(after.observe).toBeTypeOf('number');
    expect(newer(before, after.observe as number)).toBe(true);
    // One jump, not one per restart: a crash loop must not run it out of the window a device takes as newer.
    expect(((after.observe as number) - before) & 0xffffff).toBe(RESTORED_SEQUENCE_JUMP + 1);
  });

  it('restores only relations of devices still configured, and from the address a device is bound to', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-restore-'));
    const [device, ghost, impostor] = [await rawPeer(), await rawPeer(), await rawPeer()];
    const observer = (peer: RawPeer, token: string) => ({ address: '::1', port: peer.port, token });
    await writeSavedFile(
      dataDir,
      JSON.stringify({
        format: 1,
        saved_at: new Date().toISOString(),
        devices: {
          dev1: { observers: [observer(device, 'd1')], sequence: 7 },
          // Removed from the config while the gateway was down.
          ghost: { observers: [observer(ghost, 'a0')], command: { payload: { x: 1 }, etag: '0102' } },
          // Now bound to another address than the one it observed from.
          bound: { observers: [observer(impostor, 'b0')] },
        },
      }),
    );
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    g = await startCoapGateway(dataDir, [...dev1, { id: 'bound', transport: 'coap', address: '::2' }], { logger });

    expect(observers(g)).toBe(1);
    expect(lines.find((l) => l.relations !== undefined)).toMatchObject({
      relations: 1,
      commands: 0,
      dropped: ['ghost'],
    });
    await g.mqtt.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }));
    const note = await notification(device, g.port);
    expect(note.token.toString('hex')).toBe('d1');
    expect(newer(7, note.observe as number)).toBe(true);
    // Once saved again, the file holds nothing of the dropped ones.
    const saved = await savedFile(dataDir, (s) => s.devices.dev1?.command !== undefined);
    expect(Object.keys(saved.devices)).toEqual(['dev1']);
  });

  it('follows a rename made while the gateway was down: the device observes its old id, kept as ps_id', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-restore-'));
    const device = await rawPeer();
    await writeSavedFile(
      dataDir,
      JSON.stringify({
        format: 1,
        saved_at: new Date().toISOString(),
        devices: { porch: { observers: [{ address: '::1', port: device.port, token: 'c0' }], sequence: 3 } },
      }),
    );
    g = await startCoapGateway(dataDir, [{ id: 'front-porch', transport: 'coap', ps_id: 'porch' }]);
    await g.mqtt.publishAsync('zephyr2mqtt/front-porch/set', JSON.stringify({ light: 'on' }));
    const note = await notification(device, g.port);
    expect([note.token.toString('hex'), note.payload.toString()]).toEqual(['c0', '{"light":"on"}']);
  });
});
