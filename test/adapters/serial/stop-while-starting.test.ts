// A serial adapter stopped while its start() is still running opens no port afterwards: through the host (a reload
// or shutdown while a retried start runs), on a real pseudo-terminal, and on its own (a stop() called alongside).
// A device link stopped while its port is still opening reports nothing of that open once it ends.
import { mkdtempSync, readdirSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoDetect } from '@serialport/bindings-cpp';
import { SerialPortMock } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { serialAdapterConfigSchema } from '../../../adapters/serial/config.js';
import type { SerialBinding } from '../../../adapters/serial/device-link.js';
import { serialAdapterModule } from '../../../adapters/serial/index.js';
import { SerialAdapter } from '../../../adapters/serial/serial-adapter.js';
import type { AdapterStatus } from '../../../gateway/adapter.js';
import { AdapterHost } from '../../../gateway/adapter-host.js';
import { deferred } from '../../../gateway/deferred.js';
import { silentLogger } from '../../../gateway/logger.js';
import { captureLogger } from '../../broker/helpers.js';
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

/** A context that also counts statusChanged calls and keeps the log. */
class WatchingContext extends RecordingContext {
  readonly log = captureLogger();
  override readonly logger = this.log.logger;
  statusChanges = 0;
  statusChanged(): void {
    this.statusChanges++;
  }
}

/** The real binding, whose next open waits until released; it says when that open has ended, and when the port
 * it opened is closed. */
function gatedOpen() {
  const real: SerialBinding = autoDetect();
  const reached = deferred();
  const go = deferred();
  const ended = deferred();
  const closed = deferred();
  const binding: SerialBinding = {
    list: () => real.list(),
    async open(options) {
      reached.resolve();
      await go.promise;
      try {
        const port = await real.open(options);
        const close = port.close.bind(port);
        port.close = async () => {
          await close();
          closed.resolve();
        };
        return port;
      } finally {
        ended.resolve();
      }
    },
  };
  return { binding, reached: reached.promise, ended: ended.promise, closed: closed.promise, release: go.resolve };
}

function adapterFor(ctx: RecordingContext, binding: SerialBinding): SerialAdapter {
  return new SerialAdapter(serialAdapterConfigSchema.parse({}), ctx, {
    binding,
    sysRoot: '/nonexistent',
    devRoot: '/nonexistent',
  });
}

describe('a serial device link stopped while its port is still opening', () => {
  it('removed by a reload: an open that then fails reports nothing (no offline, no status change, no warning)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'serial-stop-opening-'));
    const notATty = join(dir, 'not-a-tty'); // there, but no serial port: the open fails (ENOTTY)
    writeFileSync(notATty, '');
    const open = gatedOpen();
    const ctx = new WatchingContext([{ id: 'board', transport: 'serial', path: notATty }]);
    adapter = adapterFor(ctx, open.binding);
    await adapter.start();
    await open.reached;
    ctx.deviceList = [];
    await adapter.devicesChanged();
    open.release();
    await open.ended;
    await new Promise(setImmediate); // the link's handling of the failed open

    expect(adapter.link('board')).toBeUndefined();
    expect(ctx.of('availability')).toEqual([]);
    expect(ctx.statusChanges).toBe(0);
    expect(ctx.log.lines.filter((l) => l.msg === 'cannot open serial port')).toEqual([]);
  });

  it('its adapter stopping: an open that then succeeds closes the port again and reports nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'serial-stop-opening-'));
    pty = await startPtyPair(dir);
    const open = gatedOpen();
    const ctx = new WatchingContext([{ id: 'board', transport: 'serial', path: pty.gatewayPath }]);
    adapter = adapterFor(ctx, open.binding);
    await adapter.start();
    await open.reached;
    await adapter.stop();
    open.release();
    // The port closed again, or (what must not happen) the device reported online through it.
    await Promise.race([open.closed, ctx.waitFor('availability', () => true)]);

    expect(descriptorsOn(realpathSync(pty.gatewayPath))).toEqual([]);
    expect(ctx.calls).toEqual([]);
    expect(ctx.statusChanges).toBe(0);
  });
});
