// What the log says when a configured port cannot be used: a path that is not there, a port that may not be opened.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { SerialAdapter } from '../../../adapters/serial/serial-adapter.js';
import { MockBinding, mockSerialPorts } from './mock-ports.js';
import { RecordingContext } from './recording-context.js';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

class LoggingContext extends RecordingContext {
  readonly lines: LogLine[] = [];
  override readonly logger = pino(
    { level: 'debug' },
    new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line) this.lines.push(JSON.parse(line));
        cb();
      },
    }),
  );
}

const serial = mockSerialPorts();
let adapter: SerialAdapter | undefined;

async function start(device: Record<string, unknown>, binding: typeof MockBinding) {
  const ctx = new LoggingContext([{ transport: 'serial', ...device } as never]);
  adapter = await serial.start(ctx, {}, binding);
  return ctx;
}

describe('serial port open problems in the log', () => {
  it('warns once that a configured path is not present, however often it looks again', async () => {
    let attempts = 0;
    let thirdAttempt: () => void = () => {};
    const looked = new Promise<void>((resolve) => {
      thirdAttempt = resolve;
    });
    const counting: typeof MockBinding = {
      ...MockBinding,
      list: () => MockBinding.list(),
      open: (opts) => {
        if (++attempts === 3) thirdAttempt();
        return MockBinding.open(opts);
      },
    };
    const ctx = await start({ id: 'typo', path: '/dev/ttyNOPE0' }, counting);
    await looked;
    expect(adapter!.status().details).toEqual({
      ports_open: 0,
      devices: [expect.objectContaining({ id: 'typo', last_error: 'port not present' })],
    });
    expect(ctx.lines.filter((l) => l.level === 40)).toEqual([
      expect.objectContaining({
        device: 'typo',
        path: '/dev/ttyNOPE0',
        msg: "serial port /dev/ttyNOPE0 not present; looking again every 100 ms (check the device's path, or find the port with match)",
      }),
    ]);
  });

  it('says how to get access when the port may not be opened', async () => {
    MockBinding.createPort('/dev/ttyS0', {});
    const denying: typeof MockBinding = {
      ...MockBinding,
      list: () => MockBinding.list(),
      open: async () => {
        throw new Error('Error: Permission denied, cannot open /dev/ttyS0');
      },
    };
    const ctx = await start({ id: 'locked', path: '/dev/ttyS0' }, denying);
    await ctx.waitFor('availability', (c) => !c.online);
    const warned = ctx.lines.find((l) => l.msg === 'cannot open serial port');
    expect(warned?.err).toBe(
      `no permission to open /dev/ttyS0 as uid ${process.getuid?.()} (EACCES): add the gateway user to the port's group ` +
        '(dialout; container: GroupAdd, see docs/deploy.md)',
    );
  });
});
