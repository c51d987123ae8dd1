import { describe, expect, it } from 'vitest';
import { encodeSmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames } from '../../../adapters/common/smp/serial-frame.js';
import { decodeKvLine } from '../../../adapters/serial/kv.js';
import { type DemuxEvent, LineDemux } from '../../../adapters/serial/line-demux.js';
import { LineSplitter, type SplitEvent } from '../../../adapters/serial/line-splitter.js';
import { decodeNdjsonLine } from '../../../adapters/serial/ndjson.js';
import { randomBytes, randomSplit, rng } from './random.js';

function split(chunks: Buffer[], max = 4096): SplitEvent[] {
  const s = new LineSplitter(max);
  const out: SplitEvent[] = [];
  for (const c of chunks)
    s.push(c, (e) => out.push(e.kind === 'line' ? { kind: 'line', line: Buffer.from(e.line) } : e));
  return out;
}

function demuxAll(stream: Uint8Array, chunks: Uint8Array[], framing: 'ndjson' | 'kv' | 'raw' = 'ndjson'): DemuxEvent[] {
  const s = new LineSplitter(4096);
  const d = new LineDemux({ framing, smp: true });
  const out: DemuxEvent[] = [];
  for (const c of chunks) {
    s.push(Buffer.from(c), (e) => {
      if (e.kind === 'line') out.push(...d.push(e.line));
      else out.push({ kind: 'error', code: 'binary_line', reason: `overlong ${e.dropped}`, bytes: new Uint8Array() });
    });
  }
  expect(stream.length).toBeGreaterThan(0);
  return out;
}

const echoResponse = encodeSmpMessage({ op: 3, version: 1, group: 0, id: 0, seq: 5, body: { r: 'x'.repeat(300) } });
const mixed = Buffer.concat([
  Buffer.from('\x1b[1;32muart:~$ \x1b[m\r\n*** Booting Zephyr OS build v4.2.0 ***\r\n'),
  Buffer.from('{"temperature":21.5,"humidity":40}\r\n'),
  ...encodeSerialFrames(echoResponse).flatMap((f, i) =>
    i === 1 ? [Buffer.from('[00:00:01.000,000] <inf> main: tick\n'), f] : [f],
  ),
  Buffer.from('{"topic":"events/button","payload":{"pressed":true}}\n'),
  Buffer.from('temp=21.5 state=on\n'),
  Buffer.from('{"broken":\n'),
  Buffer.from('uart:~$ {"rssi":-60}\n'),
]);

describe('LineSplitter', () => {
  it('ends a line at LF, CR or CRLF, across chunk boundaries, without the ending', () => {
    const events = split([Buffer.from('ab'), Buffer.from('c\r\nde\nf'), Buffer.from('\rg\r'), Buffer.from('h\n')]);
    expect(events.map((e) => (e.kind === 'line' ? e.line.toString() : e.kind))).toEqual(['abc', 'de', 'f', 'g', 'h']);
  });
  it('takes CRLF as one ending when the CR ends one read and the LF starts the next (also after an empty read)', () => {
    const lines = (chunks: string[]) =>
      split(chunks.map((c) => Buffer.from(c))).map((e) => e.kind === 'line' && e.line.toString());
    expect(lines(['one\r', '\ntwo\r', '', '\nthree\r\n'])).toEqual(['one', 'two', 'three']);
    // Only the LF right after the CR: a later one ends a blank line.
    expect(lines(['a\r', 'b\n'])).toEqual(['a', 'b']);
    expect(lines(['a\r\n\n'])).toEqual(['a', '']);
  });
  it('gives LFCR and blank lines as empty lines, whatever the chunking', () => {
    const stream = Buffer.from('a\n\rb\r\n\r\nc\r\r\n\n');
    const expected = ['a', '', 'b', '', 'c', '', ''];
    for (let seed = 0; seed <= 50; seed++) {
      const chunks = seed === 0 ? [stream] : randomSplit(rng(seed), stream).map((c) => Buffer.from(c));
      expect(
        split(chunks).map((e) => e.kind === 'line' && e.line.toString()),
        `seed ${seed}`,
      ).toEqual(expected);
    }
  });
  it('drops an overlong line up to the next newline, reports it once, then resyncs', () => {
    const events = split([Buffer.alloc(300, 0x41), Buffer.alloc(300, 0x42), Buffer.from('\nok\n')], 256);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ kind: 'overlong', dropped: 600 });
    expect(events[1]).toMatchObject({ kind: 'line' });
    expect(events[1]!.kind === 'line' && events[1]!.line.toString()).toBe('ok');
  });
  it('takes a line of exactly the limit ended by CRLF, and drops one byte more', () => {
    const stream = Buffer.concat([
      Buffer.alloc(256, 0x41),
      Buffer.from('\r\n'),
      Buffer.alloc(257, 0x42),
      Buffer.from('\n'),
    ]);
    expect(split([stream], 256).map((e) => e.kind)).toEqual(['line', 'overlong']);
    // The CR in one read, its newline in the next.
    expect(split([stream.subarray(0, 257), stream.subarray(257)], 256).map((e) => e.kind)).toEqual([
      'line',
      'overlong',
    ]);
  });
  it('drops an overlong line ended by a lone CR, and the LF of a CRLF after it', () => {
    const events = split([Buffer.alloc(300, 0x41), Buffer.from('\r'), Buffer.from('\nok\rfine\n')], 256);
    expect(events.map((e) => (e.kind === 'line' ? e.line.toString() : e.kind))).toEqual(['overlong', 'ok', 'fine']);
  });
  it('keeps memory bounded for an endless line without newlines', () => {
    const s = new LineSplitter(1024);
    let emitted = 0;
    for (let i = 0; i < 1000; i++) s.push(Buffer.alloc(4096, 0x61), () => emitted++);
    s.push(Buffer.from('\n'), () => emitted++);
    expect(emitted).toBe(1);
  });
});

describe('LineDemux', () => {
  it('separates shell text, NDJSON, interleaved SMP frames, publish, kv and bad JSON', () => {
    const events = demuxAll(mixed, [mixed], 'kv');
    expect(events).toEqual([
      // The bare prompt line says nothing: not published.
      { kind: 'log', text: '*** Booting Zephyr OS build v4.2.0 ***' },
      { kind: 'telemetry', values: { temperature: 21.5, humidity: 40 } },
      { kind: 'log', text: '[00:00:01.000,000] <inf> main: tick' },
      { kind: 'smp', packet: echoResponse },
      { kind: 'publish', topic: 'events/button', payload: { pressed: true } },
      { kind: 'telemetry', values: { temp: 21.5, state: 'on' } },
      {
        kind: 'error',
        code: 'ndjson',
        reason: expect.stringMatching(/invalid JSON line/),
        bytes: expect.any(Uint8Array),
      },
      // Counted, and still shown: what does not parse is console text (protocols.md §4.4).
      { kind: 'log', text: '{"broken":' },
      { kind: 'telemetry', values: { rssi: -60 } },
    ]);
  });
  it('keeps a text line with a stray control byte (bell, terminal title) as text, and calls mostly-control lines binary', () => {
    const lines = [
      Buffer.from('\x1b]0;zephyr\x07ding\x07 done\n'),
      Buffer.from('\x01\x02\x03\n'),
      Buffer.from('a\x00b\n'),
    ];
    const events = demuxAll(Buffer.concat(lines), lines, 'ndjson');
    expect(events.map((e) => (e.kind === 'log' ? e.text : e.kind === 'error' ? e.code : e.kind))).toEqual([
      'ding done',
      'binary_line',
      'binary_line',
    ]);
  });
  it('treats kv lines as log text unless framing is kv, and everything but SMP as log when raw', () => {
    expect(
      demuxAll(mixed, [mixed], 'ndjson')
        .filter((e) => e.kind === 'log')
        .map((e) => e.kind === 'log' && e.text),
    ).toContain('temp=21.5 state=on');
    const raw = demuxAll(mixed, [mixed], 'raw');
    expect(raw.filter((e) => e.kind === 'telemetry' || e.kind === 'publish')).toEqual([]);
    expect(raw.filter((e) => e.kind === 'smp')).toHaveLength(1);
  });
  it('finds an SMP frame that follows console text on the same line', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true });
    const frame = encodeSerialFrames(encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 0, body: {} }))[0]!;
    const events = d.push(Buffer.concat([Buffer.from('uart:~$ '), frame.subarray(0, -1)]));
    expect(events).toEqual([expect.objectContaining({ kind: 'smp' })]);
    // The prompt before the frame was the start of the next line's text: still stripped there.
    expect(d.push(Buffer.from('[00:00:02.000,000] <inf> main: tock'))).toEqual([
      { kind: 'log', text: '[00:00:02.000,000] <inf> main: tock' },
    ]);
  });
  it('joins a line that an SMP frame cut in two (smp_shell writes frames with uart_poll_out, between the bytes of a printk)', () => {
    const frames = encodeSerialFrames(echoResponse);
    expect(frames.length).toBeGreaterThan(2);
    // One NDJSON line cut by two frames, then a log line cut by the rest of the packet.
    const stream = Buffer.concat([
      Buffer.from('{"tempera'),
      frames[0]!,
      Buffer.from('ture":21.5,"hu'),
      frames[1]!,
      Buffer.from('midity":40}\r\n'),
      Buffer.from('[00:00:01.000,000] <inf> main: ti'),
      ...frames.slice(2),
      Buffer.from('ck\r\n'),
      Buffer.from('{"pressure":1013}\r\n'),
    ]);
    const expected: DemuxEvent[] = [
      { kind: 'telemetry', values: { temperature: 21.5, humidity: 40 } },
      { kind: 'smp', packet: echoResponse },
      { kind: 'log', text: '[00:00:01.000,000] <inf> main: tick' },
      { kind: 'telemetry', values: { pressure: 1013 } },
    ];
    expect(demuxAll(stream, [stream])).toEqual(expected);
    for (let seed = 1; seed <= 50; seed++) {
      expect(demuxAll(stream, randomSplit(rng(seed), stream)), `seed ${seed}`).toEqual(expected);
    }
  });
  it('joins a line whose UTF-8 character a frame cut in two (21.5 °C)', () => {
    const frames = encodeSerialFrames(echoResponse);
    const degree = Buffer.from('°', 'utf8');
    const stream = Buffer.concat([
      Buffer.from('<inf> main: 21.5'),
      degree.subarray(0, 1),
      ...frames,
      degree.subarray(1),
      Buffer.from('C\r\n'),
    ]);
    const expected: DemuxEvent[] = [
      { kind: 'smp', packet: echoResponse },
      { kind: 'log', text: '<inf> main: 21.5°C' },
    ];
    expect(demuxAll(stream, [stream])).toEqual(expected);
    for (let seed = 1; seed <= 20; seed++) {
      expect(demuxAll(stream, randomSplit(rng(seed), stream)), `seed ${seed}`).toEqual(expected);
    }
  });

  it('decodes a device that ends lines with a lone CR as one that ends them with CRLF, prompt redraws included', () => {
    const frames = encodeSerialFrames(echoResponse);
    const stream = (eol: string) =>
      Buffer.concat([
        Buffer.from(`\x1b[1;32muart:~$ \x1b[m${eol}*** Booting Zephyr OS build v4.2.0 ***${eol}`),
        Buffer.from(`{"temperature":21.5}${eol}`),
        // The shell erases its prompt to print a log line, then draws it again.
        Buffer.from(`uart:~$ \r\x1b[K[00:00:01.000,000] <inf> main: tick${eol}uart:~$ `),
        frames[0]!,
        Buffer.from(`\r\x1b[K[00:00:01.100,000] <inf> main: tock${eol}`),
        ...frames.slice(1),
        // A line that an SMP frame cut, then blank lines and an LFCR pair.
        Buffer.from('{"tempera'),
        Buffer.from(encodeSerialFrames(echoResponse)[0]!),
        Buffer.from(`ture":22}${eol}${eol}\n\r${eol}`),
        ...frames.slice(1),
        Buffer.from(`uart:~$ ${eol}uart:~$ `),
      ]);
    const expected: DemuxEvent[] = [
      { kind: 'log', text: '*** Booting Zephyr OS build v4.2.0 ***' },
      { kind: 'telemetry', values: { temperature: 21.5 } },
      { kind: 'log', text: '[00:00:01.000,000] <inf> main: tick' },
      { kind: 'log', text: '[00:00:01.100,000] <inf> main: tock' },
      { kind: 'smp', packet: echoResponse },
      { kind: 'telemetry', values: { temperature: 22 } },
      { kind: 'smp', packet: echoResponse },
    ];
    const crlf = stream('\r\n');
    expect(demuxAll(crlf, [crlf])).toEqual(expected);
    const cr = stream('\r');
    expect(demuxAll(cr, [cr])).toEqual(expected);
    for (let seed = 1; seed <= 50; seed++) {
      expect(demuxAll(cr, randomSplit(rng(seed), cr)), `seed ${seed}`).toEqual(expected);
    }
  });
  it('holds at most maxLineBytes of text cut by frames, and reports line noise before a frame at once', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true, maxLineBytes: 256 });
    const frame = encodeSerialFrames(encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 0, body: {} }))[0]!;
    const line = Buffer.concat([Buffer.from('y'.repeat(100)), frame.subarray(0, -1)]);
    const events = Array.from({ length: 10 }, () => d.push(line)).flat();
    expect(events.filter((e) => e.kind === 'smp')).toHaveLength(10);
    const logs = events.flatMap((e) => (e.kind === 'log' ? [e.text] : []));
    expect(logs).toEqual(['y'.repeat(200), 'y'.repeat(200), 'y'.repeat(200), 'y'.repeat(200)]);
    expect(d.flush()).toEqual([]);
    expect(d.push(Buffer.concat([Buffer.from([0x01, 0x02, 0x03]), frame.subarray(0, -1)])).map((e) => e.kind)).toEqual([
      'error',
      'smp',
    ]);
    expect(d.push(Buffer.from('{"t":1}'))).toEqual([{ kind: 'telemetry', values: { t: 1 } }]);
  });
  it('ignores the glitch a UART shows when the board resets (a NUL or a byte like F8 or FF before the first line)', () => {
    const frame = encodeSerialFrames(encodeSmpMessage({ op: 3, version: 1, group: 0, id: 5, seq: 3, body: {} }))[0]!;
    const lines = [
      Buffer.from('\x00*** Booting Zephyr OS build v4.2.0 ***\r\n'),
      Buffer.from('\xf8\xff{"temperature":21.5}\r\n', 'latin1'),
      Buffer.concat([Buffer.from([0xfe]), frame]),
      Buffer.from('\x00\r\n'),
      // More than a glitch: binary, as before.
      Buffer.from('\x00\x00\x00\x00\x00not a glitch\r\n'),
      Buffer.from('\x80\x81\xc0\xc1\xf5\xffstill binary\r\n', 'latin1'),
    ];
    const events = demuxAll(Buffer.concat(lines), lines);
    expect(events.map((e) => (e.kind === 'error' ? e.code : e.kind === 'smp' ? 'smp' : e))).toEqual([
      { kind: 'log', text: '*** Booting Zephyr OS build v4.2.0 ***' },
      { kind: 'telemetry', values: { temperature: 21.5 } },
      'smp',
      'binary_line',
      'binary_line',
    ]);
  });
  it('publishes nothing for a bare shell prompt and strips a leading prompt from log text', () => {
    const lines = [
      Buffer.from('uart:~$ \r'),
      Buffer.from('\x1b[1;32muart:~$ \x1b[m'),
      Buffer.from('uart:~$ kernel threads'),
      Buffer.from('my-board:~$   indented'),
      Buffer.from('uart:~$x is not a prompt'),
    ];
    const events = demuxAll(
      Buffer.concat(lines),
      lines.map((l) => Buffer.concat([l, Buffer.from('\n')])),
    );
    expect(events).toEqual([
      { kind: 'log', text: 'kernel threads' },
      { kind: 'log', text: '  indented' },
      { kind: 'log', text: 'uart:~$x is not a prompt' },
    ]);
  });
  it('strips every ECMA-48 escape form: ESC 7 / ESC 8, charset selection, keypad modes, CSI with private params', () => {
    const lines = [
      Buffer.from('\x1b7{"esc7":1}\x1b8\r\n'),
      Buffer.from('\x1b(B\x1b)0\x1b=\x1bc\x1bM\x1b[?25l\x1b[>4;2m\x1b]0;t\x1b\\done\n'),
    ];
    expect(demuxAll(Buffer.concat(lines), lines)).toEqual([
      { kind: 'telemetry', values: { esc7: 1 } },
      { kind: 'log', text: 'done' },
    ]);
  });
  it('reassembles a multi-frame response with NDJSON and coloured log lines between every frame', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true });
    const frames = encodeSerialFrames(echoResponse).map((f) => f.subarray(0, -1));
    expect(frames.length).toBeGreaterThan(2);
    const events = frames.flatMap((f, i) => [
      ...d.push(f, 100 * i),
      ...d.push(Buffer.from(`{"inter":${i}}`), 100 * i + 10),
      ...d.push(Buffer.from(`\x1b[1;32m[00:00:01.000,000] <inf> main: log ${i}\x1b[0m\r`), 100 * i + 20),
    ]);
    expect(events.filter((e) => e.kind === 'smp')).toEqual([{ kind: 'smp', packet: echoResponse }]);
    expect(events.filter((e) => e.kind === 'telemetry')).toHaveLength(frames.length);
    expect(events.filter((e) => e.kind === 'error')).toEqual([]);
  });
  it('reports a partial SMP packet whose next frame is overdue, with its first frame, after interleaved lines', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true });
    const frames = encodeSerialFrames(echoResponse).map((f) => f.subarray(0, -1));
    expect(d.push(frames[0]!, 1000)).toEqual([]);
    expect(d.push(Buffer.from('{"inter":0}'), 1500)).toEqual([{ kind: 'telemetry', values: { inter: 0 } }]);
    expect(d.smpDeadline).toBe(2000);
    expect(d.expire(1999)).toEqual([]);
    expect(d.expire(2000)).toEqual([
      {
        kind: 'error',
        code: 'smp_frame',
        reason: `SMP packet truncated at 93 of ${echoResponse.length + 4} bytes`,
        bytes: Uint8Array.from(frames[0]!.subarray(0, 64)),
      },
    ]);
    expect(d.smpDeadline).toBeUndefined();
  });
  it('reports a partial SMP packet as truncated when the port closes (flush), once', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true });
    const first = encodeSerialFrames(echoResponse)[0]!.subarray(0, -1);
    d.push(first);
    expect(d.flush()).toEqual([
      expect.objectContaining({ code: 'smp_frame', reason: expect.stringMatching(/^SMP packet truncated at 93 of/) }),
    ]);
    expect(d.flush()).toEqual([]);
  });
  it('decodes identically whatever the chunking of the stream (random splits)', () => {
    const expected = demuxAll(mixed, [mixed], 'kv');
    for (let seed = 1; seed <= 300; seed++) {
      const next = rng(seed);
      expect(demuxAll(mixed, randomSplit(next, mixed), 'kv'), `seed ${seed}`).toEqual(expected);
    }
  });
  it('never throws on random garbage and mutated streams, and yields only known event kinds', () => {
    const kinds = new Set(['smp', 'telemetry', 'publish', 'log', 'error']);
    for (let seed = 1; seed <= 300; seed++) {
      const next = rng(seed);
      const mutated = Uint8Array.from(mixed);
      for (let i = 0; i < 10; i++) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      const garbage = randomBytes(next, 2000);
      for (const stream of [mutated, garbage]) {
        for (const e of demuxAll(stream, randomSplit(next, stream), 'kv')) expect(kinds.has(e.kind)).toBe(true);
      }
    }
  });
});

describe('NDJSON and key=value lines', () => {
  it('rejects publish lines to reserved or malformed sub-topics and non-object JSON', () => {
    expect(decodeNdjsonLine('{"topic":"set","payload":1}')).toMatchObject({ ok: false, reason: /reserved/ });
    expect(decodeNdjsonLine('{"topic":"a/+/b","payload":1}')).toMatchObject({ ok: false });
    expect(decodeNdjsonLine('{"topic":"x","payload":1,"extra":2}')).toMatchObject({ ok: false });
    expect(decodeNdjsonLine('[1,2]')).toMatchObject({ ok: false, reason: /not an object/ });
    expect(decodeNdjsonLine('{}')).toMatchObject({ ok: false, reason: /empty/ });
    expect(decodeNdjsonLine('{"topic":"x"}')).toEqual({
      ok: true,
      value: { kind: 'telemetry', values: { topic: 'x' } },
    });
  });
  it('rejects numbers beyond the double range (they parse as Infinity), nested ones too', () => {
    for (const line of ['{"temp":1e400}', '{"t":-1e999}', '{"a":{"b":[1,2e308]}}', '{"topic":"x","payload":1e400}'])
      expect(decodeNdjsonLine(line), line).toEqual({
        ok: false,
        reason: 'JSON line has a number out of range (not finite)',
      });
    expect(decodeNdjsonLine('{"t":1.7e308,"n":-5e-324}')).toMatchObject({ ok: true });
    const deep = `${'{"a":'.repeat(20_000)}1e400${'}'.repeat(20_000)}`;
    expect(decodeNdjsonLine(deep)).toMatchObject({ ok: false, reason: /out of range/ });
  });
  it('counts a non-finite number as an ndjson decode error and keeps the line as log text', () => {
    const d = new LineDemux({ framing: 'ndjson', smp: true });
    expect(d.push(Buffer.from('{"temp":1e400}')).map((e) => (e.kind === 'error' ? e.code : e.kind))).toEqual([
      'ndjson',
      'log',
    ]);
  });
  it('parses numbers, booleans and quoted strings, and leaves mixed text alone', () => {
    expect(decodeKvLine('t=-1.5e2, ok=true; name="a b" n=.5')).toEqual({ t: -150, ok: true, name: 'a b', n: 0.5 });
    // Numbers that would change as doubles stay text.
    expect(decodeKvLine('sn=0012345 big=1e999 id=12345678901234567890')).toEqual({
      sn: '0012345',
      big: '1e999',
      id: '12345678901234567890',
    });
    expect(decodeKvLine('booting, heap=4096 free')).toBeUndefined();
    expect(decodeKvLine('[00:00:01] <inf> main: x=1')).toBeUndefined();
  });
});
