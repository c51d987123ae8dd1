// The transport-neutral SMP client against an in-process SMP server reached through the real serial framing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SmpClient, SmpClosedError, SmpTimeoutError } from '../../../adapters/common/smp/client.js';
import { decodeSmpMessage, encodeSmpMessage, type SmpMessage } from '../../../adapters/common/smp/packet.js';
import { encodeSerialFrames, SmpSerialAssembler } from '../../../adapters/common/smp/serial-frame.js';

/** Splits framed bytes into lines and answers like Zephyr's OS echo handler; `drop` loses requests. */
function serialServer(opts: {
  drop?: (msg: SmpMessage, n: number) => boolean;
  answer?: (msg: SmpMessage) => Uint8Array[];
}) {
  const asm = new SmpSerialAssembler();
  const seen: SmpMessage[] = [];
  let client: SmpClient | undefined;
  const clientAsm = new SmpSerialAssembler();
  const deliver = (frames: Uint8Array[]) => {
    for (const f of frames) for (const r of clientAsm.push(f.subarray(0, -1))) if (r.ok) client!.handlePacket(r.value);
  };
  const send = (packet: Uint8Array) => {
    for (const frame of encodeSerialFrames(packet)) {
      for (const r of asm.push(frame.subarray(0, -1))) {
        if (!r.ok) throw new Error(r.reason);
        const msg = decodeSmpMessage(r.value);
        if (!msg.ok) throw new Error(msg.reason);
        seen.push(msg.value);
        if (opts.drop?.(msg.value, seen.length)) continue;
        const { header, body } = msg.value;
        const reply =
          opts.answer?.(msg.value) ??
          encodeSerialFrames(
            encodeSmpMessage({
              ...header,
              op: (header.op + 1) as 1 | 3,
              body: header.group === 0 && header.id === 0 ? { r: body.d ?? '' } : { rc: 8 },
            }),
          );
        queueMicrotask(() => deliver(reply));
      }
    }
  };
  return { seen, send, attach: (c: SmpClient) => (client = c), deliver };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SmpClient', () => {
  it('round-trips a long echo through fragmentation and reassembly with increasing sequence numbers', async () => {
    const server = serialServer({});
    const client = new SmpClient({ send: server.send });
    server.attach(client);
    const long = 'Z'.repeat(400);
    const a = await client.request({ op: 2, group: 0, id: 0, body: { d: long } });
    const b = await client.request({ op: 2, group: 0, id: 0, body: { d: 'hi' } });
    expect(a.body).toEqual({ r: long });
    expect(a.rc).toBe(0);
    expect(b.body).toEqual({ r: 'hi' });
    expect(server.seen.map((m) => m.header.seq)).toEqual([0, 1]);
  });

  it('reports rc from v1 and v2 error bodies', async () => {
    const server = serialServer({
      answer: (m) =>
        encodeSerialFrames(
          encodeSmpMessage({ ...m.header, op: 1, body: m.header.id === 2 ? { err: { group: 0, rc: 6 } } : { rc: 8 } }),
        ),
    });
    const client = new SmpClient({ send: server.send, version: 2 });
    server.attach(client);
    expect((await client.request({ op: 0, group: 0, id: 3 })).rc).toBe(8);
    const v2 = await client.request({ op: 0, group: 0, id: 2 });
    expect([v2.rc, v2.errGroup, v2.header.version]).toEqual([6, 0, 2]);
  });

  it('wraps the sequence number at 256 and runs concurrent requests one at a time', async () => {
    const server = serialServer({});
    const client = new SmpClient({ send: server.send });
    server.attach(client);
    const all = await Promise.all(
      Array.from({ length: 260 }, (_, i) => client.request({ op: 2, group: 0, id: 0, body: { d: `m${i}` } })),
    );
    expect(all.map((r) => r.body.r)).toEqual(Array.from({ length: 260 }, (_, i) => `m${i}`));
    expect(server.seen.slice(254, 259).map((m) => m.header.seq)).toEqual([254, 255, 0, 1, 2]);
  });

  it('retries a lost request with the same sequence number, then times out', async () => {
    vi.useFakeTimers();
    const server = serialServer({ drop: (_m, n) => n <= 2 });
    const client = new SmpClient({ send: server.send, timeoutMs: 1000, retries: 2 });
    server.attach(client);
    const res = client.request({ op: 2, group: 0, id: 0, body: { d: 'again' } });
    await vi.advanceTimersByTimeAsync(2000);
    const r = await res;
    expect(r.attempts).toBe(3);
    expect(server.seen.map((m) => m.header.seq)).toEqual([0, 0, 0]);

    const silent = serialServer({ drop: () => true });
    const c2 = new SmpClient({ send: silent.send, timeoutMs: 500, retries: 1 });
    const p = c2.request({ op: 0, group: 1, id: 0 });
    const assertion = expect(p).rejects.toBeInstanceOf(SmpTimeoutError);
    await vi.advanceTimersByTimeAsync(1000);
    await assertion;
    expect(silent.seen).toHaveLength(2);
  });

  it("adds the transport's wire time for each request to every attempt's wait, and names it in the timeout", async () => {
    vi.useFakeTimers();
    const silent = serialServer({ drop: () => true });
    const lengths: number[] = [];
    const client = new SmpClient({
      send: silent.send,
      timeoutMs: 500,
      retries: 1,
      wireTimeMs: (packet) => {
        lengths.push(packet.length);
        return 700;
      },
    });
    const p = client.request({ op: 2, group: 0, id: 0, body: { d: 'slow' } });
    const assertion = expect(p).rejects.toThrow('no response after 2 attempt(s) of 500 ms (+700 ms on the wire)');
    await vi.advanceTimersByTimeAsync(1199);
    expect(silent.seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(silent.seen).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1200);
    await assertion;
    expect(lengths).toEqual([
      encodeSmpMessage({ op: 2, version: 1, group: 0, id: 0, seq: 0, body: { d: 'slow' } }).length,
    ]);
  });

  it('ignores unsolicited and stale responses and rejects requests when closed', async () => {
    const sent: Uint8Array[] = [];
    const client = new SmpClient({ send: (p) => void sent.push(p) });
    const p = client.request({ op: 0, group: 0, id: 2 });
    await Promise.resolve();
    await Promise.resolve();
    expect(sent).toHaveLength(1);
    const stale = encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 99, body: {} });
    expect(client.handlePacket(stale)).toEqual({ ok: true, value: 'unsolicited' });
    expect(client.handlePacket(encodeSmpMessage({ op: 0, version: 1, group: 0, id: 2, seq: 0, body: {} })).ok).toBe(
      false,
    );
    client.close('port unplugged');
    await expect(p).rejects.toBeInstanceOf(SmpClosedError);
    await expect(client.request({ op: 0, group: 0, id: 2 })).rejects.toThrow('port unplugged');
    client.reopen();
    const again = client.request({ op: 0, group: 0, id: 2, timeoutMs: 10_000 });
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(
      client.handlePacket(encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 1, body: { tasks: {} } })),
    ).toEqual({
      ok: true,
      value: 'response',
    });
    await expect(again).resolves.toMatchObject({ body: { tasks: {} }, rc: 0 });
  });

  it('rejects at once when the transport fails to send', async () => {
    const client = new SmpClient({
      send: () => {
        throw new Error('EIO');
      },
    });
    await expect(client.request({ op: 0, group: 0, id: 2 })).rejects.toThrow('SMP send failed: EIO');
  });

  it('abandons an aborted request: no resend, the next request goes out at once, a late answer is unsolicited', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sent: SmpMessage[] = [];
    const client = new SmpClient({
      send: (p) => {
        const msg = decodeSmpMessage(p);
        if (msg.ok) sent.push(msg.value);
      },
      timeoutMs: 1000,
      retries: 2,
    });
    const controller = new AbortController();
    const abandoned = client.request({ op: 2, group: 1, id: 1, signal: controller.signal });
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    controller.abort(new Error('cancelled by request'));
    await expect(abandoned).rejects.toThrow('cancelled by request');

    const next = client.request({ op: 0, group: 0, id: 2 });
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]?.header).toMatchObject({ group: 0, id: 2, seq: 1 });
    const late = encodeSmpMessage({ op: 3, version: 1, group: 1, id: 1, seq: 0, body: { off: 128 } });
    expect(client.handlePacket(late)).toEqual({ ok: true, value: 'unsolicited' });
    expect(client.handlePacket(encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 1, body: {} }))).toEqual({
      ok: true,
      value: 'response',
    });
    await expect(next).resolves.toMatchObject({ rc: 0 });
    // The abandoned request's retry timers are gone: nothing more goes out.
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent).toHaveLength(2);
  });

  it('never sends a request whose signal was aborted while it queued', async () => {
    const sent: Uint8Array[] = [];
    const client = new SmpClient({ send: (p) => void sent.push(p), timeoutMs: 10_000 });
    const first = client.request({ op: 0, group: 0, id: 2 });
    const controller = new AbortController();
    const queued = client.request({ op: 0, group: 0, id: 3, signal: controller.signal });
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    controller.abort(new Error('cancelled by request'));
    client.handlePacket(encodeSmpMessage({ op: 1, version: 1, group: 0, id: 2, seq: 0, body: {} }));
    await expect(first).resolves.toMatchObject({ rc: 0 });
    await expect(queued).rejects.toThrow('cancelled by request');
    expect(sent).toHaveLength(1);
  });
});
