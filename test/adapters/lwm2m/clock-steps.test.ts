// Wall-clock steps (a Raspberry Pi without RTC boots at an old time, then NTP sets the clock): lifetimes and the
// queue-mode wake window run on the monotonic clock, only registered_at and last_update follow the wall clock.
// vi.setSystemTime steps Date alone; advancing the fake timers moves Date and performance.now together.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Lwm2mServer } from '../../../adapters/coap/lwm2m/index.js';
import { startOfflineServer } from './offline-server.js';
import type { RecordingContext } from './recording-context.js';

const HOUR = 3_600_000;

const setup = (devices: RecordingContext['devicesList']) =>
  startOfflineServer(devices, { lifetime_grace_s: 0, unknown_endpoints: 'accept' });

const node1 = { id: 'node1', transport: 'coap', lwm2m: { endpoint: 'zephyr-node1', observe: [] } };

describe('LwM2M registrations across wall-clock steps', () => {
  let server: Lwm2mServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    vi.useRealTimers();
  });
  const fakeClocks = () =>
    vi.useFakeTimers({ toFake: ['Date', 'performance', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });

  it('expires lt=20 after 20 s although the clock was set back 2 h meanwhile', async () => {
    fakeClocks();
    const s = await setup([node1]);
    server = s.server;
    await s.register(['lt=20']);
    await vi.advanceTimersByTimeAsync(1000);
    vi.setSystemTime(Date.now() - 2 * HOUR);
    await vi.advanceTimersByTimeAsync(18_900);
    expect(s.server.status()).toMatchObject({ registrations: 1 });
    await vi.advanceTimersByTimeAsync(200);
    expect(s.server.status()).toMatchObject({ registrations: 0 });
    expect(s.ctx.facts.filter((f) => f.type === 'availability').map((f) => f.online)).toEqual([true, false]);
  });

  it('reports the remaining lifetime, not a negative one, when onboarded after the clock jumped forward', async () => {
    fakeClocks();
    const s = await setup([]);
    server = s.server;
    const registeredAt = new Date(Date.now());
    await s.register(['lt=300']);
    vi.setSystemTime(Date.now() + 2 * HOUR);
    await vi.advanceTimersByTimeAsync(10_000);
    s.ctx.devicesList = [node1];
    s.server.devicesChanged();
    // Not heard at onboarding: its last_seen stays the time of its Register.
    expect(s.ctx.facts).toContainEqual({
      type: 'availability',
      deviceId: 'node1',
      online: true,
      validForMs: 290_000,
      lastHeard: registeredAt,
    });
    expect(s.server.status()).toMatchObject({ registrations: 1, onboarded: 1 });
  });

  it('keeps a queue-mode client awake for queue_awake_s after registering across clock steps, and shows wall times', async () => {
    fakeClocks();
    const s = await setup([node1]);
    server = s.server;
    const registeredAt = new Date(Date.now()).toISOString();
    await s.register(['lt=300', 'Q']);
    vi.setSystemTime(Date.now() + 2 * HOUR);
    await vi.advanceTimersByTimeAsync(3000);
    const described = await s.server.request('node1', { op: 'registration' });
    expect(described).toMatchObject({ queue_mode: true, awake: true, registered_at: registeredAt });
    // And asleep once queue_awake_s (93 s) has passed, though the clock was set back meanwhile.
    vi.setSystemTime(Date.now() - 4 * HOUR);
    await vi.advanceTimersByTimeAsync(91_000);
    expect(await s.server.request('node1', { op: 'registration' })).toMatchObject({ awake: false });
  });
});
