// Commands the cloud sends while the gateway is down wait in its persistent session on the upstream (Mosquitto), which
// delivers them right after the CONNACK. Black-box through the real gateway: they must reach the device, not arrive
// while its adapter is still starting (a serial port opening) and fail.
import { afterEach, expect, it } from 'vitest';
import { startTestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule, type TestAdapterInstance } from '../helpers/test-adapter.js';
import { observe } from '../upstream/brokers.js';
import { tempDataDir } from '../upstream/local-bridge.js';
import { Mosquitto } from '../upstream/mosquitto.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The test transport, slow to start like a serial port opening: start() takes until a command was tried (refused,
 * as a port that is not open yet refuses it) or at most a second. */
function slowStartingAdapter() {
  const test = createTestAdapterModule();
  const refused: string[] = [];
  const create = test.module.create;
  test.module.create = (config, ctx) => {
    const instance = create(config, ctx) as TestAdapterInstance; // the test module creates synchronously
    const { start, command } = instance;
    let tried: (() => void) | undefined;
    instance.start = async () => {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        tried = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      await start.call(instance);
    };
    instance.command = async (deviceId, cmd) => {
      if (instance.status().state !== 'running') {
        refused.push(deviceId);
        tried?.();
        throw new Error('the port is not open yet');
      }
      return command.call(instance, deviceId, cmd);
    };
    return instance;
  };
  return { ...test, refused };
}

for (const version of ['5', '3.1.1'] as const) {
  it(`MQTT ${version}: a command kept in the persistent session while the gateway was down is handled at start-up`, async () => {
    const dir = await tempDataDir(cleanups, 'z2m-session-commands-');
    const mosquitto = new Mosquitto(dir);
    await mosquitto.start();
    cleanups.push(() => mosquitto.stop());
    const bridge = {
      enabled: true,
      url: mosquitto.url,
      protocol_version: version,
      reconnect_min: 0.05,
      topics: [
        { pattern: '#', direction: 'out' as const, qos: 1 as const },
        { pattern: '+/set', direction: 'in' as const, qos: 1 as const },
      ],
    };
    const cloud = await observe(mosquitto.url, 'test-gw/#', { protocolVersion: version === '5' ? 5 : 4 });
    cleanups.push(() => cloud.close());
    const online = (from: number) => (s: typeof cloud.seen) =>
      s.slice(from).some((m) => m.topic === 'test-gw/bridge/state' && m.payload === '{"state":"online"}');

    const adapter = slowStartingAdapter();
    const options = { adapterModules: [adapter.module] };
    const devices = [{ id: 'lamp', transport: 'test' }];
    // The first run makes the session (and its subscription) on Mosquitto.
    const first = await startTestGateway({ bridge, devices }, options);
    await cloud.waitFor(online(0), 10_000, 'the first run online');
    await first.stop();

    const sentAt = cloud.seen.length;
    await cloud.client.publishAsync('test-gw/lamp/set', '{"state":"ON"}', { qos: 1 });
    const second = await startTestGateway({ bridge, devices }, options);
    cleanups.push(() => second.stop());
    await cloud.waitFor(online(sentAt), 10_000, 'the second run online');
    // Executed: the device's new state goes up.
    const answered = (s: typeof cloud.seen) =>
      s.some((m) => m.topic === 'test-gw/lamp/set/error' || (m.topic === 'test-gw/lamp' && m.payload.includes('ON')));
    await cloud.waitFor(answered, 10_000, 'the kept command executed or failed');
    expect(cloud.seen.filter((m) => m.topic === 'test-gw/lamp/set/error')).toEqual([]);
    expect(adapter.refused).toEqual([]);
    expect(adapter.current().commands).toEqual([{ deviceId: 'lamp', cmd: { kind: 'set', payload: { state: 'ON' } } }]);
    expect(second.gateway.upstreamStatus()).toMatchObject({ messages: { received: 1 } });
  });
}
