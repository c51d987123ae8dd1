// A clean stop under traffic: every publish the embedded broker acknowledged reaches the upstream (after the
// restart at the latest). The broker used to keep acknowledging clients' publishes while the bridge, already
// stopped queueing, waited for the upstream to take its offline state.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

describe('stopping with the upstream bridge under traffic', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
  });

  /** An upstream that records what it receives and takes 300 ms to accept the bridge's offline state. */
  async function slowUpstream(): Promise<{ url: string; seen: Set<string> }> {
    const seen = new Set<string>();
    const aedes = await Aedes.createBroker({
      authorizePublish: (_client, packet, done) => {
        seen.add(packet.topic);
        if (packet.topic.endsWith('/bridge/state') && packet.payload.toString().includes('offline'))
          setTimeout(() => done(null), 300);
        else done(null);
      },
    });
    const sockets = new Set<Socket>();
    const server: Server = createServer(aedes.handle);
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => aedes.close(() => r()));
    });
    return { url: `mqtt://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
  }

  it('forwards every acknowledged publish, including those made while it stops', async () => {
    const upstream = await slowUpstream();
    const dataDir = await mkdtemp(join(tmpdir(), 'z2m-shutdown-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const config = {
      gateway: { data_dir: dataDir },
      bridge: {
        enabled: true,
        url: upstream.url,
        protocol_version: '3.1.1' as const,
        reconnect_min: 0.05,
        reconnect_max: 0.5,
      },
    };
    let gw: TestGateway | undefined = await startTestGateway(config);
    const client = await mqtt.connectAsync(gw.mqttUrl, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    const acked: string[] = [];
    let publishing = true;
    // mqtt.js holds a publish made after the connection closed without ever settling it.
    const closed = new Promise<'closed'>((resolve) => client.once('close', () => resolve('closed')));
    const publisher = (async () => {
      for (let seq = 0; publishing && seq < 20_000; seq++) {
        const topic = `load/${seq}`; // zephyr2mqtt/load/<seq> here, test-gw/load/<seq> upstream
        const done = await Promise.race([
          client.publishAsync(`zephyr2mqtt/${topic}`, 'x', { qos: 1 }).catch(() => 'failed'),
          closed,
        ]);
        if (done === 'closed' || done === 'failed') return; // the gateway went away
        acked.push(topic);
      }
    })();
    await expect.poll(() => acked.length, { timeout: 10_000 }).toBeGreaterThan(200);
    await gw.stop();
    publishing = false;
    await publisher;

    gw = await startTestGateway(config);
    cleanups.push(() => gw?.stop() ?? Promise.resolve());
    const missing = () => acked.filter((t) => !upstream.seen.has(`test-gw/${t}`));
    await expect.poll(() => missing().length, { timeout: 10_000 }).toBe(0);
  });
});
