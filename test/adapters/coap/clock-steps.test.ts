// Wall-clock steps (a Raspberry Pi without RTC boots at an old time, then NTP sets the clock) must not change how long
// the CoAP adapter waits: deadlines, Observe freshness, the back-off reset and discovery rounds run on
// performance.now(). vi.setSystemTime steps Date alone; advancing the fake clock moves Date and performance together.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MulticastDiscovery } from '../../../adapters/coap/discovery.js';
import type { CoapClientResponse, CoapEndpoint, CoapObservation } from '../../../adapters/coap/endpoint.js';
import { ResourceObserver } from '../../../adapters/coap/resource-observer.js';
import { Timers } from '../../../adapters/coap/timers.js';
import type { UdpCoapEndpoint } from '../../../adapters/coap/transport/udp-endpoint.js';
import { RecordingContext } from '../lwm2m/recording-context.js';
import { endpoint, stopEndpointsAfterEach } from './loopback-endpoints.js';
import { closeDevicesAfterEach, scriptedDevice } from './scripted-device.js';

stopEndpointsAfterEach();
const HOUR = 3_600_000;
const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
  vi.useRealTimers();
});
// Registered after the hook above, so that it runs first: devices close before the cleanups.
closeDevicesAfterEach();

/** Fakes the clocks only: sockets and their real timers keep working. */
const fakeClocks = () => vi.useFakeTimers({ toFake: ['Date', 'performance'] });
/** Also fakes timers, for code that needs no network. */
const fakeClocksAndTimers = () =>
  vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });

/** Resolves with the first value `subscribe` reports, or rejects after `ms` of real time. */
function first<T>(subscribe: (deliver: (value: T) => void) => void, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
    subscribe((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

describe('the CoAP transport across wall-clock steps', () => {
  it('finishes a Block2 read although the clock jumped 2 h forward after the first block', async () => {
    fakeClocks();
    const server = await endpoint({ blockSize: 64 });
    server.route('big', () => {
      vi.setSystemTime(Date.now() + 2 * HOUR);
      return { code: '2.05', payload: Buffer.alloc(300, 'x') };
    });
    const client = await endpoint();
    const res = await client.request({
      peer: { address: '::1', port: server.port },
      method: 'GET',
      path: ['big'],
      timeoutMs: 3000,
    });
    expect(res.payload.length).toBe(300);
  });

  it('takes an older Observe sequence number as fresh once 128 s have passed, though the clock went back 2 h', async () => {
    fakeClocks();
    const device = await scriptedDevice((m, d) => {
      if (m.type === 'CON' && m.observe === 0) d.ack(m, { code: '2.05', options: [[6, [100]]], payload: 'a' });
    });
    const client = await endpoint();
    let onNote: (res: CoapClientResponse) => void = () => {};
    const observation = await client.observe(
      { peer: { address: '::1', port: device.port }, method: 'GET', path: ['obs'] },
      (res) => onNote(res),
    );
    cleanup.push(() => observation.close());
    const token = [...(device.received.find((r) => r.message.observe === 0)?.message.token ?? [])];
    expect(token.length).toBeGreaterThan(0);
    vi.setSystemTime(Date.now() - 2 * HOUR);
    vi.advanceTimersByTime(130_000);
    const note = first<CoapClientResponse>((deliver) => (onNote = deliver), 2000, 'notification');
    device.send({ type: 'NON', code: '2.05', mid: 700, token, options: [[6, [50]]], payload: 'b' });
    expect((await note).payload.toString()).toBe('b');
  });
});

describe('the CoAP adapter across wall-clock steps', () => {
  it('runs the next discovery round one interval later although the clock went back 2 h', async () => {
    fakeClocksAndTimers();
    const ctx = new RecordingContext();
    ctx.permit = true;
    const multicast = vi.fn(() => Promise.resolve());
    const discovery = new MulticastDiscovery({ multicast } as unknown as UdpCoapEndpoint, ctx, {
      interfaces: ['lo'],
      groups: ['ff02::fd'],
      intervalMs: 60_000,
      windowMs: 1000,
      port: 5683,
    });
    discovery.start();
    cleanup.push(() => discovery.stop());
    await vi.advanceTimersByTimeAsync(1000);
    expect(multicast).toHaveBeenCalledTimes(1);
    vi.setSystemTime(Date.now() - 2 * HOUR);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(multicast).toHaveBeenCalledTimes(2);
  });

  it('starts the observe back-off over after a relation held, although the clock went back 2 h meanwhile', async () => {
    fakeClocksAndTimers();
    const notify: Array<(res: CoapClientResponse) => void> = [];
    let refusals = 3;
    const observe = vi.fn((_req: unknown, onNotify: (res: CoapClientResponse) => void): Promise<CoapObservation> => {
      notify.push(onNotify);
      const accepted = refusals-- <= 0;
      const source = { address: '::1', port: 5683 };
      const response = accepted
        ? { code: '2.05', observe: 1, payload: Buffer.from('v'), source }
        : { code: '5.03', payload: Buffer.alloc(0), source };
      return Promise.resolve({ first: response, close: () => {}, cancel: () => Promise.resolve() });
    });
    const timers = new Timers();
    cleanup.push(() => timers.stop());
    const policy = { retryMinMs: 1000, retryMaxMs: 60_000, requestTimeoutMs: 1000, observeFreshnessMs: HOUR };
    const hooks = { onAnswer: () => {}, onResponse: () => {}, onRegistering: () => 0, onFailure: () => {} };
    const endpointStub = { observe } as unknown as CoapEndpoint;
    new ResourceObserver(endpointStub, { address: '::1', port: 5683 }, '/obs', timers, policy, hooks).start();
    // Refused three times (1 s, 2 s, 4 s back-off), then accepted.
    await vi.advanceTimersByTimeAsync(7000);
    expect(observe).toHaveBeenCalledTimes(4);
    vi.setSystemTime(Date.now() - 2 * HOUR);
    await vi.advanceTimersByTimeAsync(5000);
    // The device ends the relation that held 5 s: the back-off is back at its 1 s floor, not at 8 s.
    notify[3]?.({ code: '4.04', payload: Buffer.alloc(0), source: { address: '::1', port: 5683 } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(observe).toHaveBeenCalledTimes(5);
  });
});
