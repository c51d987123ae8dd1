// The saved /ps/<id>/set relations are checked before use: a file that is not one (damaged, from elsewhere) is set
// aside with a warning that names it and never keeps the adapter from starting; an entry that does not pass is
// dropped alone.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../../broker/helpers.js';
import { closePeersAfterEach, frame, rawPeer } from './raw-peer.js';
import { type CoapGateway, observersFile, savedFile, startCoapGateway, writeSavedFile } from './restartable-gateway.js';

let dataDir = '';
let g: CoapGateway | undefined;
afterEach(async () => {
  await g?.gw.stop();
  g = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  dataDir = '';
});
closePeersAfterEach();

const dev1 = [{ id: 'dev1', transport: 'coap' }];

describe('the saved /ps/<id>/set relations file', () => {
  it('is set aside with a warning when it is not one, and the adapter starts and saves anew', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-file-'));
    const damaged = '{"format":1,"saved_at":"x","devices":{"dev1":{"observ';
    await writeSavedFile(dataDir, damaged);
    const { lines, logger } = captureLogger('info');
    g = await startCoapGateway(dataDir, dev1, { logger });

    expect(g.adapter.status().state).toBe('running');
    const warning = lines.find((l) => l.level === 40 && String(l.msg).includes('command-observers.json'));
    expect(warning?.msg).toMatch(
      /cannot be used \(it is not JSON.*\): ignored and moved to .*command-observers\.json\.corrupt/,
    );
    expect(await readFile(`${observersFile(dataDir)}.corrupt`, 'utf8')).toBe(damaged);

    const peer = await rawPeer();
    const answer = await peer.exchange(
      frame({
        type: 'CON',
        code: '0.01',
        mid: 1,
        token: [9],
        options: [
          [6, []],
          [11, 'ps'],
          [11, 'dev1'],
          [11, 'set'],
        ],
      }),
      g.port,
    );
    expect(answer?.observe).toBeTypeOf('number');
    await savedFile(dataDir, (s) => s.devices.dev1?.observers[0]?.token === '09');
  });

  it('drops an entry that does not pass the check and restores the others', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-ps-file-'));
    await writeSavedFile(
      dataDir,
      JSON.stringify({
        format: 1,
        saved_at: new Date().toISOString(),
        devices: {
          dev1: {
            observers: [{ address: '::1', port: 5999, token: '01' }],
            command: { payload: { a: 1 }, etag: '0a' },
          },
          dev2: { observers: [{ address: 'not-an-ip', port: 5999, token: '02' }] },
          dev3: { observers: [{ address: '::1', port: 5998, token: 'zz' }] },
        },
      }),
    );
    const { lines, logger } = captureLogger('info');
    g = await startCoapGateway(
      dataDir,
      ['dev1', 'dev2', 'dev3'].map((id) => ({ id, transport: 'coap' })),
      { logger },
    );
    expect(g.adapter.status().details?.command_observers).toBe(1);
    expect(lines.find((l) => Array.isArray(l.devices))).toMatchObject({ level: 40, devices: ['dev2', 'dev3'] });
    expect(lines.find((l) => l.relations !== undefined)).toMatchObject({ relations: 1, commands: 1 });
  });
});
