// A start that fails once the broker is up (here: the HTTP port is taken) must not leave the gateway's retained
// bridge/state, nor a restored device's availability, saying "online" in the broker's store: the next start's
// listeners serve that store to every client before the gateway publishes anything.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestBroker } from '../broker/helpers.js';
import { startTestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('a start that fails after the broker is up', () => {
  let dataDir: string;
  let blocker: Server;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'z2m-failed-start-'));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  });
  afterEach(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it('leaves bridge/state and the devices it restored offline', async () => {
    // A device heard a moment ago, as a crashed run leaves it: its state retained, the bridge still "online".
    const seed = await startTestBroker({}, dataDir);
    await seed.broker.publish('zephyr2mqtt/d1', JSON.stringify({ t: 1, last_seen: new Date().toISOString() }), {
      retain: true,
      qos: 1,
    });
    await seed.broker.publish('zephyr2mqtt/bridge/state', '{"state":"online"}', { retain: true, qos: 1 });
    await seed.stop();

    const busyPort = (blocker.address() as { port: number }).port;
    const adapter = createTestAdapterModule();
    await expect(
      startTestGateway(
        { gateway: { data_dir: dataDir }, http: { port: busyPort }, devices: [{ id: 'd1', transport: 'test' }] },
        { adapterModules: [adapter.module] },
      ),
    ).rejects.toThrow(`http.port ${busyPort} on 127.0.0.1: in use`);

    const after = await startTestBroker({}, dataDir);
    try {
      expect(after.broker.retained('zephyr2mqtt/bridge/state')?.toString()).toBe('{"state":"offline"}');
      expect(after.broker.retained('zephyr2mqtt/d1/availability')?.toString()).toBe('{"state":"offline"}');
    } finally {
      await after.stop();
    }
  });
});
