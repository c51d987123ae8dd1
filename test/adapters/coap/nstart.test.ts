// NSTART = 1 (RFC 7252 §4.7): the gateway keeps at most one interaction outstanding with each device; the others
// wait their turn in order, a cancelled one is never sent, and different devices never wait for each other.
import { describe, expect, it } from 'vitest';
import type { CoapClientResponse } from '../../../adapters/coap/endpoint.js';
import { CoapCancelledError, CoapDeadlineError, CoapQueueFullError } from '../../../adapters/coap/transport/errors.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, type Script, type ScriptedDevice, scriptedDevice } from './scripted-device.js';
import { scriptedNode } from './scripted-node.js';

stopEndpointsAfterEach();
closeDevicesAfterEach();

/** A device that answers every GET with its path, `delayMs` later, and notes when it answered. */
function lateAnswers(delayMs: number, answeredAt: Map<string, number>): Script {
  return (m, d) => {
    if (m.type !== 'CON' || m.code !== '0.01') return;
    setTimeout(() => {
      answeredAt.set(m.path.join('/'), Date.now());
      d.ack(m, { code: '2.05', payload: m.path.join('/') });
    }, delayMs);
  };
}

const paths = (d: ScriptedDevice) => d.received.map((r) => r.message.path.join('/'));
/** No retransmission within a test: each request reaches the device once. */
const unhurried = { transmission: { ackTimeoutMs: 2000, ackRandomFactor: 1, maxRetransmit: 1 } };

describe('NSTART = 1 in the client side of the transport', () => {
  it('sends the next request to a device only after the previous one was answered, in order', async () => {
    const answeredAt = new Map<string, number>();
    const d = await scriptedDevice(lateAnswers(60, answeredAt));
    const ep = await endpoint(unhurried);
    const get = (path: string) =>
      ep.request({ peer: { address: '::1', port: d.port }, method: 'GET', path: [path], timeoutMs: 3000 });
    const answers = await Promise.all([get('a'), get('b'), get('c')]);
    expect(answers.map((a) => a.payload.toString())).toEqual(['a', 'b', 'c']);
    expect(paths(d)).toEqual(['a', 'b', 'c']);
    const [, b, c] = d.received;
    expect(b!.at).toBeGreaterThanOrEqual(answeredAt.get('a')!);
    expect(c!.at).toBeGreaterThanOrEqual(answeredAt.get('b')!);
  });

  it('never sends a queued request that was cancelled, and sends the one behind it', async () => {
    const d = await scriptedDevice(() => {});
    const ep = await endpoint(unhurried);
    const peer = { address: '::1', port: d.port };
    const first = ep.request({ peer, method: 'GET', path: ['a'], timeoutMs: 3000 });
    const abort = new AbortController();
    const cancelled = ep.request({ peer, method: 'GET', path: ['b'], timeoutMs: 3000, signal: abort.signal });
    const third = ep.request({ peer, method: 'GET', path: ['c'], timeoutMs: 3000 });
    const a = await d.waitFor((m) => m.path[0] === 'a');
    expect(ep.stats().nstart_waiting).toBe(2);
    abort.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CoapCancelledError);
    expect(ep.stats().nstart_waiting).toBe(1);
    d.ack(a.message, { code: '2.05', payload: 'a' });
    expect((await first).payload.toString()).toBe('a');
    const c = await d.waitFor((m) => m.path[0] === 'c');
    d.ack(c.message, { code: '2.05', payload: 'c' });
    expect((await third).payload.toString()).toBe('c');
    expect(paths(d)).toEqual(['a', 'c']);
  });

  it('fails a request whose deadline passes while it waits, without sending it', async () => {
    const d = await scriptedDevice(() => {});
    const ep = await endpoint(unhurried);
    const peer = { address: '::1', port: d.port };
    const first = ep.request({ peer, method: 'GET', path: ['a'], timeoutMs: 3000 });
    first.catch(() => {}); // ended by stopping the endpoint
    const late = ep.request({ peer, method: 'GET', path: ['b'], timeoutMs: 100 });
    await expect(late).rejects.toBeInstanceOf(CoapDeadlineError);
    expect(ep.stats().nstart_waiting).toBe(0);
    expect(paths(d)).toEqual(['a']);
  });

  it('does not make different devices wait for each other', async () => {
    const silent = await scriptedDevice(() => {});
    const answering = await scriptedDevice(lateAnswers(0, new Map()));
    const ep = await endpoint(unhurried);
    const stuck = ep.request({
      peer: { address: '::1', port: silent.port },
      method: 'GET',
      path: ['x'],
      timeoutMs: 3000,
    });
    stuck.catch(() => {});
    await silent.waitFor((m) => m.path[0] === 'x');
    const res = await ep.request({
      peer: { address: '::1', port: answering.port },
      method: 'GET',
      path: ['y'],
      timeoutMs: 500,
    });
    expect(res.payload.toString()).toBe('y');
  });

  it('refuses a request beyond 64 waiting for one device at once, with a clear error', async () => {
    const d = await scriptedDevice(() => {});
    const ep = await endpoint();
    const get = () =>
      ep.request({ peer: { address: '::1', port: d.port }, method: 'GET', path: ['x'], timeoutMs: 3000 });
    const accepted: Promise<CoapClientResponse>[] = [];
    for (let i = 0; i < 65; i++) accepted.push(get());
    for (const p of accepted) p.catch(() => {}); // ended by stopping the endpoint
    await expect(get()).rejects.toBeInstanceOf(CoapQueueFullError);
    await expect(get()).rejects.toThrow(/64 requests already wait/);
    expect(ep.stats().nstart_waiting).toBe(64);
  });
});

describe('NSTART = 1 through the gateway', () => {
  const node = scriptedNode({ time: { path: '/time', observe: true }, large: { path: '/large', poll: 300 } });

  it('sends a device its start-up requests one after the other', async () => {
    const answeredAt = new Map<string, number>();
    const { device: d } = await node.start((m, dev) => {
      if (m.type !== 'CON' || m.code !== '0.01') return;
      setTimeout(() => {
        answeredAt.set(m.path.join('/'), Date.now());
        const observe: Array<[number, number[]]> = m.observe === 0 ? [[6, [1]]] : [];
        dev.ack(m, { code: '2.05', options: observe, payload: '1' });
      }, 60);
    });
    const first = await d.waitFor((m) => m.path[0] === 'large' || m.path[0] === 'time');
    // The other start-up GET (a retransmission of the first, on a host slow enough to need one, is not it).
    const second = await d.waitFor((m) => m.code === '0.01' && m.path[0] !== first.message.path[0]);
    expect(new Set([first.message.path[0], second.message.path[0]])).toEqual(new Set(['time', 'large']));
    expect(second.at).toBeGreaterThanOrEqual(answeredAt.get(first.message.path.join('/'))!);
  });
});
