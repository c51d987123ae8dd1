// A real libcoap client observing /ps/<id>/set keeps getting commands when the gateway process is killed with SIGKILL
// (a crash or power cut: no 5.03 tells the client) and started again on the same data dir: the relation is restored
// from the data dir, and a command published over MQTT after the restart reaches the same coap-client process.
import mqtt from 'mqtt';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { observersFile, savedFile } from '../adapters/coap/restartable-gateway.js';
import { CLI, startChildGateway } from '../helpers/child-gateway.js';
import { COAP_CLIENT, LibcoapProcess, requireLibcoap } from '../sim/coap/libcoap.js';
import { crashGatewayConfig, killed } from './crash-gateway.js';

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(() => requireLibcoap());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('libcoap observer of /ps/<id>/set across a SIGKILL of the gateway', () => {
  it('gets the first command published after the restart, on the same observation', async () => {
    const { dataDir, coapPort, configPath } = await crashGatewayConfig(cleanups, {
      // The device observes this address: the gateway must come back on it.
      bind: '::1',
      devices: [{ id: 'dev1', transport: 'coap' }],
      savedFile: observersFile,
    });

    const first = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(first));
    const observer = new LibcoapProcess([COAP_CLIENT, '-m', 'get', '-s', '45', `coap://[::1]:${coapPort}/ps/dev1/set`]);
    cleanups.push(() => observer.stop());
    await observer.waitForOutput((out) => out.includes('{}'));
    await savedFile(dataDir, (s) => s.devices.dev1?.observers.length === 1, 10_000);

    await killed(first);
    expect(await first.exited).toBe('SIGKILL');

    const second = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(second));
    expect(second.output()).toMatch(/restored 1 observations/);
    const client = await mqtt.connectAsync(second.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000 });
    cleanups.push(() => client.endAsync(true));
    await client.publishAsync('zephyr2mqtt/dev1/set', JSON.stringify({ led: 'on' }), { qos: 1 });
    await observer.waitForOutput((out) => out.includes('{"led":"on"}'), 10_000);
    // The same process, still observing: it never registered again.
    expect(observer.child.exitCode).toBeNull();
  });
});
