// A serial adapter stopped while its start() is still running opens no port afterwards: through the host (a reload
// or shutdown while a retried start runs), on a real pseudo-terminal, and on its own (a stop() called alongside).
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { serialAdapterConfigSchema } from '../../../adapters/serial/config.js';
import { serialAdapterModule } from '../../../adapters/serial/index.js';
import { SerialAdapter } from '../../../adapters/serial/serial-adapter.js';
import type { AdapterStatus } from '../../../gateway/adapter.js';
import { AdapterHost } from '../../../gateway/adapter-host.js';
import { silentLogger } from '../../../gateway/logger.js';
import { gateStarts } from '../../helpers/start-gates.js';
import { type PtyPair, startPtyPair } from '../../sim/serial/pty-pair.js';
import { RecordingContext } from './recording-context.js';

let dir = '';
let pty: PtyPair | undefined;
let host: AdapterHost | undefined;
let adapter: SerialAdapter | undefined;
afterEach(async () => {
  await host?.stop();
  host = undefined;
  await adapter?.stop();
  adapter = undefined;
  await pty?.unplug();
  pty = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

/** Descriptors of this process open on `tty`. */
function descriptorsOn(tty: string): string[] {
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === tty;
    } catch {
      return false; // closed between the listing and the readlink
    }
  });
}

describe('a serial adapter stopped while its start is still running', () => {
  it('through the host, on a pty: stopped once the start has ended, its port never opened', async () => {
    dir = mkdtempSync(join(tmpdir(), 'serial-stop-starting-'));
    pty = await startPtyPair(dir);
    const gates = gateStarts(serialAdapterModule);
    gates.failNext();
    const retry = gates.holdNext();
    const ctx = new RecordingContext([{ id: 'board', transport: 'serial', path: pty.gatewayPath }]);
    const statuses: AdapterStatus[] = [];
    host = new AdapterHost(gates.module, serialAdapterConfigSchema.parse({}), ctx, silentLogger(), {
      statusChanged: (s) => statuses.push(s),
    });
    await host.start(); // fails: retried after 1 s by the back-off
    await retry.reached;
    const stopping = host.stop(); // what a reload that turns the adapter off, or a shutdown, does
    await retry.release();
    await stopping;

    const retried = gates.instances[1];
    expect(retried?.adapter.status()).toMatchObject({ state: 'stopped', details: { devices: [] } });
    expect(retried?.stops).toEqual([true]);
    expect(descriptorsOn(realpathSync(pty.gatewayPath))).toEqual([]);
    expect(ctx.of('availability')).toEqual([]);
    expect(statuses.map((s) => s.state)).toEqual(['failed']);
  });

  it('on its own: a stop() called alongside start() leaves it stopped, with no link to a port', async () => {
    const MockBinding = SerialPortMock.binding;
    MockBinding.reset();
    MockBinding.createPort('/dev/ttyACM3', {});
    const ctx = new RecordingContext([{ id: 'board', transport: 'serial', path: '/dev/ttyACM3' }]);
    adapter = new SerialAdapter(serialAdapterConfigSchema.parse({ scan_interval_ms: 100 }), ctx, {
      binding: MockBinding,
      sysRoot: '/nonexistent',
      devRoot: '/nonexistent',
    });
    const starting = adapter.start();
    await adapter.stop();
    await starting;
    expect(adapter.status()).toMatchObject({ state: 'stopped', details: { devices: [] } });
    expect(adapter.link('board')).toBeUndefined();
  });
});
