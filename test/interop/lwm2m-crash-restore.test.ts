// An LwM2M registration made by a real libcoap client survives a SIGKILL of the gateway (a crash or power cut):
// restored from the data dir at the next start, so the client's Update to its old location gets 2.04 instead of the
// 4.04 that would make it register again.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registrationsFile, savedJson } from '../adapters/coap/restartable-gateway.js';
import { type ChildGateway, CLI, startChildGateway } from '../helpers/child-gateway.js';
import { freeUdpPort, requireLibcoap, runCoapClient } from '../sim/coap/libcoap.js';

const cleanups: Array<() => Promise<unknown>> = [];
beforeAll(() => requireLibcoap());
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function killed(gateway: ChildGateway): Promise<void> {
  gateway.kill();
  await gateway.exited;
}

/** Runs coap-client at verbosity 7 and returns the response line it logs (`v:1 t:ACK c:2.01 ... [ options ]`). */
async function coap(port: number, method: string, path: string, payload?: string): Promise<string> {
  const args = ['-v', '7', '-B', '5', '-m', method];
  if (payload !== undefined) args.push('-t', '40', '-e', payload);
  const run = await runCoapClient([...args, `coap://127.0.0.1:${port}${path}`]);
  const line = `${run.stdout}\n${run.stderr}`.split('\n').find((l) => /t:(ACK|CON|NON) c:[2-5]\.\d\d/.test(l));
  if (!line) throw new Error(`no CoAP response from the gateway:\n${run.stdout}\n${run.stderr}`);
  return line;
}

describe('libcoap LwM2M registration across a SIGKILL of the gateway', () => {
  it('the Update to the location from before the crash gets 2.04', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'z2m-lwm2m-crash-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const dataDir = join(dir, 'data');
    // Watched for the save below before the gateway makes it.
    await mkdir(dirname(registrationsFile(dataDir)), { recursive: true });
    // The client keeps the server's address: the gateway must come back on it.
    const coapPort = await freeUdpPort('127.0.0.1');
    const configPath = join(dir, 'gateway.yaml');
    const config = {
      gateway: { id: 'gw1', base_topic: 'zephyr2mqtt', data_dir: dataDir },
      broker: { listeners: [{ type: 'mqtt', host: '127.0.0.1', port: 0 }], allow_anonymous: true },
      http: { host: '127.0.0.1', port: 0 },
      adapters: {
        coap: { enabled: true, bind: '127.0.0.1', port: coapPort, lwm2m: { request_timeout_ms: 1000 } },
        serial: { enabled: false },
        ble: { enabled: false },
      },
      devices: [{ id: 'node1', transport: 'coap', lwm2m: { endpoint: 'libcoap-node' } }],
    };
    await writeFile(configPath, JSON.stringify(config)); // JSON is YAML

    const first = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(first));
    const created = await coap(
      coapPort,
      'post',
      '/rd?lwm2m=1.1&ep=libcoap-node&lt=600&b=U',
      '</>;ct=110,</1/0>,</3/0>',
    );
    expect(created).toContain('c:2.01');
    const id = /Location-Path:rd, Location-Path:([0-9a-f]{24})/.exec(created)?.[1];
    expect(id, created).toBeDefined();
    await savedJson<{ registrations: { endpoint: string; id: string }[] }>(
      registrationsFile(dataDir),
      (s) => s.registrations.some((r) => r.endpoint === 'libcoap-node' && r.id === id),
      10_000,
    );

    await killed(first);
    expect(await first.exited).toBe('SIGKILL');

    const second = await startChildGateway(configPath, CLI);
    cleanups.push(() => killed(second));
    expect(second.output()).toMatch(/restored 1 registrations/);
    expect(await coap(coapPort, 'post', `/rd/${id}?lt=600`)).toContain('c:2.04');
  });
});
