// The serial adapter on @serialport/binding-mock: port matching, demux into the context, /set, SMP, bad input.
import { describe, expect, it } from 'vitest';
import { decodeSmpMessage, encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler } from '../../../adapters/common/smp/serial-frame.js';
import type { SerialAdapter } from '../../../adapters/serial/serial-adapter.js';
import { MockBinding, type MockPortBinding, mockSerialPorts } from './mock-ports.js';
import { randomBytes, randomSplit, rng } from './random.js';
import { RecordingContext } from './recording-context.js';

const { opened, start } = mockSerialPorts();
let adapter: SerialAdapter | undefined;

async function startAdapter(devices: Record<string, unknown>[], config: Record<string, unknown> = {}) {
  const ctx = new RecordingContext(devices.map((d) => ({ transport: 'serial', ...d }) as never));
  adapter = await start(ctx, config);
  return ctx;
}

/** Waits until the mock port has received `n` bytes in total and returns them. */
async function written(port: MockPortBinding, atLeast: number): Promise<Buffer> {
  for (let i = 0; i < 200 && port.recording.length < atLeast; i++) await new Promise((r) => setImmediate(r));
  return port.recording;
}

/** Fails the read in progress as an unplugged tty does, so the stream closes with an error. */
async function unplug(port: MockPortBinding): Promise<void> {
  const mock = port as unknown as { pendingRead: ((err?: Error) => void) | null };
  for (let i = 0; i < 200 && !mock.pendingRead; i++) await new Promise((r) => setImmediate(r));
  mock.pendingRead?.(new Error('EIO: device unplugged'));
}

describe('SerialAdapter (binding-mock)', () => {
  it('opens a port matched by USB vid/pid, reports it online and decodes NDJSON, log and publish lines', async () => {
    MockBinding.createPort('/dev/ttyACM7', { vendorId: '2FE3', productId: '0100', record: true });
    const ctx = await startAdapter([{ id: 'board', match: { usb: { vid: '2fe3', pid: '0100' } } }]);
    await adapter!.link('board')!.opened();
    expect(ctx.of('availability')).toEqual([{ fn: 'availability', deviceId: 'board', online: true }]);
    expect(ctx.of('deviceInfo')[0]?.info).toMatchObject({ path: '/dev/ttyACM7', usb: { vid: '2fe3', pid: '0100' } });
    opened[0]!.emitData('{"temperature":21.5}\r\n<inf> main: ready\n{"topic":"events","payload":"boot"}\n');
    await ctx.waitFor('publish', (c) => c.subtopic === 'events');
    expect(ctx.of('telemetry')).toEqual([{ fn: 'telemetry', deviceId: 'board', values: { temperature: 21.5 } }]);
    expect(ctx.of('publish').map((c) => [c.subtopic, c.payload])).toEqual([
      ['log', '<inf> main: ready'],
      ['events', 'boot'],
    ]);
    expect(ctx.counts.in).toBe(2);
  });

  it('decodes a device that ends its lines with a lone CR, and publishes nothing for blank lines or prompt redraws', async () => {
    MockBinding.createPort('/dev/ttyACM4', {});
    const ctx = await startAdapter([{ id: 'board', path: '/dev/ttyACM4' }]);
    await adapter!.link('board')!.opened();
    opened[0]!.emitData('{"temperature":21.5}\r<inf> main: ready\r\r\n\n\ruart:~$ \r\x1b[K');
    opened[0]!.emitData('\n{"topic":"events","payload":"boot"}\r');
    await ctx.waitFor('publish', (c) => c.subtopic === 'events');
    expect(ctx.of('telemetry')).toEqual([{ fn: 'telemetry', deviceId: 'board', values: { temperature: 21.5 } }]);
    expect(ctx.of('publish').map((c) => [c.subtopic, c.payload])).toEqual([
      ['log', '<inf> main: ready'],
      ['events', 'boot'],
    ]);
    expect(ctx.of('decodeError')).toEqual([]);
  });

  it('writes /set as one NDJSON line and /get as {"get": ...}, and ignores the shell echo of them', async () => {
    MockBinding.createPort('/dev/ttyUSB3', { record: true });
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyUSB3' }]);
    await adapter!.link('dev1')!.opened();
    await adapter!.command('dev1', { kind: 'set', payload: { led: true } });
    await adapter!.command('dev1', { kind: 'get', payload: { temperature: '' } });
    expect((await written(opened[0]!, 40)).toString()).toBe('{"led":true}\n{"get":{"temperature":""}}\n');
    opened[0]!.emitData('uart:~$ {"led":true}\n{"led":true}\n');
    await ctx.waitFor('telemetry', () => true);
    expect(ctx.of('telemetry')).toHaveLength(1);
    expect(ctx.counts.out).toBe(2);
  });

  it('ignores the echo of a long /set that the shell wrapped at 80 columns', async () => {
    MockBinding.createPort('/dev/ttyUSB5', { record: true });
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyUSB5' }]);
    await adapter!.link('dev1')!.opened();
    const payload = { message: 'm'.repeat(140) };
    await adapter!.command('dev1', { kind: 'set', payload });
    const echo = `uart:~$ ${JSON.stringify(payload)}`;
    const wrappedEcho = (echo.match(/.{1,80}/g) ?? []).join('\n');
    opened[0]!.emitData(`${wrappedEcho}\n{"confirmed":true}\n`);
    await ctx.waitFor('telemetry', () => true);
    expect(ctx.of('telemetry')).toEqual([{ fn: 'telemetry', deviceId: 'dev1', values: { confirmed: true } }]);
    expect(ctx.of('decodeError')).toEqual([]);
  });

  it('with shell_echo: false takes a device confirming /set with the same line as telemetry', async () => {
    MockBinding.createPort('/dev/ttyUSB4', { record: true });
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyUSB4', shell_echo: false }]);
    await adapter!.link('dev1')!.opened();
    await adapter!.command('dev1', { kind: 'set', payload: { led: 'blink' } });
    opened[0]!.emitData('{"led":"blink"}\n');
    expect((await ctx.waitFor('telemetry', () => true)).values).toEqual({ led: 'blink' });
  });

  it('answers bridge/request/device/smp with decoded CBOR, named or raw, and reports rc errors', async () => {
    MockBinding.createPort('/dev/ttyACM0', { record: true });
    await startAdapter([{ id: 'dev1', path: '/dev/ttyACM0', smp: { timeout_ms: 2000 } }]);
    await adapter!.link('dev1')!.opened();
    const port = opened[0]!;
    const asm = new SmpSerialAssembler();
    let consumed = 0;
    const answer = async (body: (req: ReturnType<typeof decodeSmpMessage>) => Record<string, never> | object) => {
      for (let i = 0; i < 200; i++) {
        const data = port.recording.subarray(consumed);
        const nl = data.lastIndexOf(0x0a);
        if (nl >= 0) {
          consumed += nl + 1;
          for (const line of data.subarray(0, nl).toString('latin1').split('\n')) {
            for (const r of asm.push(Buffer.from(line, 'latin1'))) {
              if (!r.ok) throw new Error(r.reason);
              const req = decodeSmpMessage(r.value);
              if (!req.ok) throw new Error(req.reason);
              const res = encodeSmpMessage({
                ...req.value.header,
                op: (req.value.header.op + 1) as 1 | 3,
                body: body(req) as never,
              });
              port.emitData(Buffer.concat(encodeSerialFrames(res)));
              return req.value;
            }
          }
        }
        await new Promise((r) => setImmediate(r));
      }
      throw new Error('no SMP request written');
    };
    const echo = adapter!.request('smp', 'dev1', { device: 'dev1', command: 'echo', data: { d: 'hi' } });
    const req = await answer((r) => ({ r: r.ok ? r.value.body.d : '' }));
    expect(req.header).toMatchObject({ op: 2, group: 0, id: 0, seq: 0 });
    await expect(echo).resolves.toEqual({
      command: 'echo',
      group: 0,
      id: 0,
      seq: 0,
      version: 1,
      rc: 0,
      attempts: 1,
      data: { r: 'hi' },
    });

    const state = adapter!.request('smp', 'dev1', { group: 1, id: 0, op: 'read' });
    await answer(() => ({ images: [{ slot: 0, hash: Uint8Array.from([0xde, 0xad]) }] }));
    await expect(state).resolves.toMatchObject({ seq: 1, data: { images: [{ slot: 0, hash: 'dead' }] } });

    const raw = adapter!.request('smp', 'dev1', {
      group: 64,
      id: 1,
      op: 2,
      data: { blob: { $hex: '00ff10' }, n: [1] },
    });
    const rawReq = await answer(() => ({}));
    expect(rawReq.header).toMatchObject({ op: 2, group: 64, id: 1, seq: 2 });
    expect(rawReq.body).toEqual({ blob: Uint8Array.from([0, 255, 16]), n: [1] });
    await expect(raw).resolves.toMatchObject({ seq: 2, data: {} });
    await expect(
      adapter!.request('smp', 'dev1', { group: 64, id: 1, op: 2, data: { b: { $hex: 'xyz' } } }),
    ).rejects.toThrow(/\$hex/);

    const bad = adapter!.request('smp', 'dev1', { command: 'mpstat' });
    await answer(() => ({ rc: 8 }));
    await expect(bad).rejects.toThrow('rc 8 (not supported)');
    await expect(adapter!.request('smp', 'dev1', { command: 'format_disk' })).rejects.toThrow(/invalid smp request/);
    await expect(adapter!.request('nope', 'dev1', {})).rejects.toThrow(/no "nope" request/);
  });

  it('writes an SMP request smp.line_buffers frames at a time', async () => {
    MockBinding.createPort('/dev/ttyACM2', {});
    const smp = { timeout_ms: 50, retries: 0, line_buffers: 3 };
    await startAdapter([{ id: 'dev1', path: '/dev/ttyACM2', smp }]);
    await adapter!.link('dev1')!.opened();
    const port = opened[0]!;
    const framesPerWrite: number[] = [];
    const write = port.write.bind(port);
    port.write = (buffer: Buffer) => {
      framesPerWrite.push(buffer.filter((b) => b === 0x0a).length);
      return write(buffer);
    };
    // 500 bytes of echo: 6 frames.
    const echo = adapter!.request('smp', 'dev1', { command: 'echo', data: { d: 'b'.repeat(500) } });
    await expect(echo).rejects.toThrow(/no response after 1 attempt/);
    expect(framesPerWrite).toEqual([3, 3]);
  });

  it('counts overlong lines, bad JSON and broken SMP frames as decode errors and keeps going', async () => {
    MockBinding.createPort('/dev/ttyS9', {});
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyS9' }], { max_line_bytes: 256 });
    await adapter!.link('dev1')!.opened();
    opened[0]!.emitData(
      Buffer.concat([Buffer.alloc(1000, 0x41), Buffer.from('\n{"x":\n\x06\x09!!!!\n\x04\x14QUFB\n{"ok":1}\n')]),
    );
    await ctx.waitFor('telemetry', (c) => c.values.ok === 1);
    expect(ctx.of('decodeError').map((c) => [c.reason, c.error])).toEqual([
      ['overlong_line', 'line longer than 256 bytes dropped (1000 bytes)'],
      ['ndjson', expect.stringMatching(/invalid JSON line/)],
      ['smp_frame', expect.stringMatching(/bad base64/)],
      ['smp_frame', 'SMP continuation frame without a first frame'],
    ]);
  });

  it('reports a partial SMP packet whose next frame never comes after 1 s, with its first frame', async () => {
    MockBinding.createPort('/dev/ttyACM6', {});
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyACM6' }]);
    await adapter!.link('dev1')!.opened();
    const first = encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 9, body: { r: 'P'.repeat(200) } }),
    )[0]!;
    const sent = Date.now();
    opened[0]!.emitData(Buffer.concat([first, Buffer.from('{"inter":1}\n')]));
    const error = await ctx.waitFor('decodeError', (c) => c.reason === 'smp_frame', 3000);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(990);
    expect(error.error).toBe('SMP packet truncated at 93 of 217 bytes');
    expect(Buffer.from(error.bytes!).subarray(0, 2).toString('hex')).toBe('0609');
    expect(ctx.of('telemetry').map((c) => c.values)).toEqual([{ inter: 1 }]);
  });

  it('takes the next frame of a partial SMP packet that arrived while the event loop was blocked past its deadline', async () => {
    MockBinding.createPort('/dev/ttyACM5', {});
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyACM5' }]);
    await adapter!.link('dev1')!.opened();
    const frames = encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 9, body: { r: 'S'.repeat(200) } }),
    );
    opened[0]!.emitData(Buffer.concat([frames[0]!, Buffer.from('{"inter":1}\n')]));
    await ctx.waitFor('telemetry', (c) => c.values.inter === 1);
    // The rest arrives in time, then the event loop is blocked past the packet's deadline (1 s) before it reads it.
    opened[0]!.emitData(Buffer.concat([...frames.slice(1), Buffer.from('{"after":1}\n')]));
    const stallEnd = performance.now() + 1300;
    while (performance.now() < stallEnd); // the stall itself: bounded by time
    await ctx.waitFor('telemetry', (c) => c.values.after === 1);
    expect(ctx.of('decodeError')).toEqual([]);
    expect(ctx.counts.in).toBe(3); // two telemetry lines and the (unsolicited) SMP packet
  });

  it('counts a partial SMP packet as truncated when the port is unplugged', async () => {
    MockBinding.createPort('/dev/ttyACM8', {});
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyACM8' }], { reopen_backoff: { initial_ms: 5000 } });
    await adapter!.link('dev1')!.opened();
    const port = opened[0]!;
    const first = encodeSerialFrames(
      encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 9, body: { r: 'P'.repeat(200) } }),
    )[0]!;
    port.emitData(Buffer.concat([first, Buffer.from('{"before":1}\n')]));
    await ctx.waitFor('telemetry', (c) => c.values.before === 1);
    await unplug(port);
    await ctx.waitFor('availability', (c) => !c.online);
    expect(ctx.of('decodeError').map((c) => [c.reason, c.error])).toEqual([
      ['smp_frame', 'SMP packet truncated at 93 of 217 bytes'],
    ]);
  });

  it('waits for a port that appears later and refuses commands meanwhile with a clear error', async () => {
    const ctx = await startAdapter([{ id: 'late', path: '/dev/ttyACM5' }]);
    await ctx.waitFor('availability', (c) => !c.online);
    await expect(adapter!.command('late', { kind: 'set', payload: { a: 1 } })).rejects.toThrow(
      'device "late" is offline (its serial port is not open)',
    );
    await expect(adapter!.request('smp', 'late', { command: 'echo', data: { d: 'x' } })).rejects.toThrow(
      'device is offline (its serial port is not open)',
    );
    expect(adapter!.status().details).toEqual({
      ports_open: 0,
      devices: [{ id: 'late', open: false, path: undefined, opens: 0, last_error: 'port not present' }],
    });
    MockBinding.createPort('/dev/ttyACM5', {});
    await adapter!.link('late')!.opened();
    expect(adapter!.status().details).toMatchObject({ ports_open: 1, devices: [{ id: 'late', open: true }] });
    expect(ctx.of('availability').map((c) => c.online)).toEqual([false, true]);
    expect(adapter!.status().state).toBe('running');
  });

  it('announces unknown USB ports during permit_join and skips invalid device entries', async () => {
    MockBinding.createPort('/dev/ttyACM1', { vendorId: '2fe3', productId: '0004' });
    const ctx = await startAdapter([{ id: 'nopath' }, { id: 'bad', path: 3 }]);
    ctx.joining = true;
    const seen = await ctx.waitFor('deviceSeen', () => true, 3000);
    // serial_number and aliases: what a blocklist entry can name it by.
    expect(seen.seen).toMatchObject({
      transport: 'serial',
      address: '/dev/ttyACM1',
      aliases: [],
      suggested_config: { transport: 'serial', match: { usb: { vid: '2fe3', pid: '0004' } } },
    });
    // The mock numbers its ports' serials.
    const usb = (seen.seen.suggested_config as { match: { usb: { serial: unknown } } }).match.usb;
    expect(seen.seen.serial_number).toBe(usb.serial);
    expect(typeof seen.seen.serial_number).toBe('string');
    expect(adapter!.link('nopath')).toBeUndefined();
    expect(adapter!.link('bad')).toBeUndefined();
  });

  it('does not announce the port of a configured device while that device cannot open it', async () => {
    MockBinding.createPort('/dev/ttyACM3', { vendorId: '2fe3', productId: '0100' });
    MockBinding.createPort('/dev/ttyACM4', { vendorId: '2fe3', productId: '0004' });
    const holder = await MockBinding.open({ path: '/dev/ttyACM3', baudRate: 115_200 }); // another process has it
    try {
      const ctx = await startAdapter([{ id: 'board', match: { usb: { vid: '2fe3', pid: '0100' } } }], {
        reopen_backoff: { initial_ms: 20, max_ms: 40 },
      });
      await ctx.waitFor('availability', (c) => c.deviceId === 'board' && !c.online);
      ctx.joining = true;
      await ctx.waitFor('deviceSeen', (c) => c.seen.address === '/dev/ttyACM4', 3000);
      const mark = ctx.calls.length;
      await ctx.waitFor('deviceSeen', (c) => c.seen.address === '/dev/ttyACM4', 3000, mark); // a later scan
      expect(ctx.of('deviceSeen').map((c) => c.seen.address)).not.toContain('/dev/ttyACM3');
    } finally {
      await holder.close();
    }
  });

  it('keeps retrying a port that fails to open (locked) and reports the error in its status', async () => {
    MockBinding.createPort('/dev/ttyACM2', {});
    const ctx = await startAdapter(
      [
        { id: 'first', path: '/dev/ttyACM2' },
        { id: 'second', path: '/dev/ttyACM2' },
      ],
      { reopen_backoff: { initial_ms: 20, max_ms: 40 } },
    );
    await adapter!.link('first')!.opened();
    await ctx.waitFor('availability', (c) => c.deviceId === 'second' && !c.online);
    expect(adapter!.status().details).toMatchObject({
      devices: [
        { id: 'first', open: true },
        {
          id: 'second',
          open: false,
          last_error: expect.stringMatching(/^another program holds \/dev\/ttyACM2 \(port locked/),
        },
      ],
    });
    await adapter!.link('first')!.stop('test');
    await adapter!.link('second')!.opened(2000);
    await ctx.waitFor('availability', (c) => c.deviceId === 'second' && c.online);
  });

  it('applies device list changes without a restart', async () => {
    MockBinding.createPort('/dev/ttyACM3', { record: true });
    MockBinding.createPort('/dev/ttyACM4', { record: true });
    const ctx = await startAdapter([{ id: 'dev1', path: '/dev/ttyACM3' }]);
    await adapter!.link('dev1')!.opened();
    ctx.deviceList = [{ id: 'dev1', transport: 'serial', path: '/dev/ttyACM4' } as never];
    await adapter!.devicesChanged();
    await adapter!.link('dev1')!.opened();
    await adapter!.command('dev1', { kind: 'set', payload: { x: 1 } });
    expect(opened.at(-1)!.openOptions.path).toBe('/dev/ttyACM4');
    expect((await written(opened.at(-1)!, 8)).toString()).toBe('{"x":1}\n');
    ctx.deviceList = [];
    await adapter!.devicesChanged();
    expect(adapter!.link('dev1')).toBeUndefined();
    await expect(adapter!.command('dev1', { kind: 'set', payload: {} })).rejects.toThrow(/not an active serial device/);
  });

  it('keeps the port open through a new display name or description, and tells a pending request why a real change closed it', async () => {
    MockBinding.createPort('/dev/ttyACM3', { record: true });
    const entry = { id: 'dev1', transport: 'serial', path: '/dev/ttyACM3', smp: { timeout_ms: 10_000, retries: 0 } };
    const ctx = await startAdapter([entry]);
    const link = adapter!.link('dev1')!;
    await link.opened();
    const pending = adapter!.request('smp', 'dev1', { command: 'echo', data: { d: 'x' } });
    await written(opened[0]!, 1);
    ctx.deviceList = [
      { ...entry, name: 'Board display name', description: 'bench', availability_timeout: 60, log: false } as never,
    ];
    await adapter!.devicesChanged();
    expect(adapter!.link('dev1')).toBe(link);
    expect(link.device).toMatchObject({ name: 'Board display name', description: 'bench', log: false });
    expect(link.path).toBe('/dev/ttyACM3');
    expect(opened).toHaveLength(1);
    const failed = expect(pending).rejects.toThrow('device entry changed by a config reload');
    ctx.deviceList = [{ ...entry, baud_rate: 9600 } as never];
    await adapter!.devicesChanged();
    await failed;
    expect(adapter!.link('dev1')).not.toBe(link);
    await adapter!.link('dev1')!.opened();
    expect(opened.at(-1)!.openOptions.baudRate).toBe(9600);
    const next = adapter!.request('smp', 'dev1', { command: 'echo', data: { d: 'y' } });
    const removed = expect(next).rejects.toThrow('device removed or disabled');
    await written(opened.at(-1)!, 1);
    ctx.deviceList = [];
    await adapter!.devicesChanged();
    await removed;
  });

  it('tells a pending request that its device was disabled or removed, or that its adapter stopped', async () => {
    MockBinding.createPort('/dev/ttyACM3', { record: true });
    const entry = { id: 'dev1', transport: 'serial', path: '/dev/ttyACM3', smp: { timeout_ms: 10_000, retries: 0 } };
    const ctx = await startAdapter([entry]);
    const ended = async (change: () => Promise<void>, reason: string) => {
      await adapter!.link('dev1')!.opened();
      const pending = adapter!.request('smp', 'dev1', { command: 'echo', data: { d: 'x' } });
      const failed = expect(pending).rejects.toThrow(reason);
      await written(opened.at(-1)!, 1);
      await change();
      await failed;
    };
    await ended(async () => {
      ctx.deviceList = [{ ...entry, disabled: true } as never];
      await adapter!.devicesChanged();
    }, 'device removed or disabled');
    ctx.deviceList = [entry as never];
    await adapter!.devicesChanged();
    await ended(async () => {
      ctx.deviceList = [];
      await adapter!.devicesChanged();
    }, 'device removed or disabled');
    ctx.deviceList = [entry as never];
    await adapter!.devicesChanged();
    await ended(() => adapter!.stop(), 'serial adapter stopping (gateway stop or restart)');
  });

  it('delivers the same facts whatever the chunking, and survives garbage between valid lines', async () => {
    MockBinding.createPort('/dev/ttyACM9', {});
    const ctx = await startAdapter([{ id: 'fuzz', path: '/dev/ttyACM9', framing: 'kv' }]);
    await adapter!.link('fuzz')!.opened();
    const next = rng(42);
    const expected: Record<string, unknown>[] = [];
    const parts: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      expected.push({ n: i, t: i / 4 });
      parts.push(Buffer.from(i % 2 ? `{"n":${i},"t":${i / 4}}\r\n` : `n=${i} t=${i / 4}\n`));
      // Garbage without newlines would glue onto the next line, so each blob ends one.
      if (i % 10 === 0)
        parts.push(Buffer.concat([Buffer.from(randomBytes(next, 50 + Math.floor(next() * 300))), Buffer.from('\n')]));
    }
    parts.push(Buffer.from('{"done":true}\n'));
    for (const chunk of randomSplit(next, Buffer.concat(parts))) opened[0]!.emitData(Buffer.from(chunk));
    await ctx.waitFor('telemetry', (c) => c.values.done === true);
    expect(
      ctx
        .of('telemetry')
        .map((c) => c.values)
        .slice(0, -1),
    ).toEqual(expected);
    expect(ctx.of('decodeError').length).toBeGreaterThanOrEqual(1);
    expect(adapter!.status().details).toMatchObject({ devices: [{ id: 'fuzz', open: true }] });
  });

  it('reports itself unavailable when disabled', async () => {
    await startAdapter([], { enabled: false });
    expect(adapter!.status()).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/disabled/) });
  });
});
