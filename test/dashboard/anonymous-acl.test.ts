// Anonymous dashboard users (allow_anonymous: true) are held to anonymous_acl, like anonymous MQTT clients.
import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';
import { postJson } from './helpers.js';

describe('dashboard without login', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('checks anonymous reads and writes against anonymous_acl', async () => {
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'kitchen', transport: 'test' },
          { id: 'secret', transport: 'test' },
        ],
        broker: { allow_anonymous: true, anonymous_acl: [{ allow: 'subscribe', topic: 'zephyr2mqtt/kitchen/#' }] },
      },
      { adapterModules: [adapter.module] },
    );
    const set = await postJson(`${gw.httpUrl}/api/devices/kitchen/set`, { on_off: true });
    expect(set.status).toBe(403);
    expect((await postJson(`${gw.httpUrl}/api/request/permit_join`, { value: true })).status).toBe(403);
    expect(adapter.current().commands).toEqual([]);
    const state = (await (await fetch(`${gw.httpUrl}/api/state`)).json()) as { devices: Array<{ id: string }> };
    expect(state.devices.map((d) => d.id)).toEqual(['kitchen']);
  });

  it('warns at start when an anonymous dashboard listens beyond loopback', async () => {
    const log = captureLogger();
    // An address this machine does not have: the warning comes before the listener binds, which then fails.
    await expect(
      startTestGateway(
        { broker: { allow_anonymous: true }, http: { host: '198.51.100.7', port: 0 } },
        { logger: log.logger },
      ),
    ).rejects.toThrow();
    const warnings = log.lines.filter((l) => l.security === true).map((l) => l.msg);
    expect(warnings).toEqual([expect.stringMatching(/^SECURITY WARNING: .*dashboard on 198\.51\.100\.7:0/)]);

    const quiet = captureLogger();
    gw = await startTestGateway({ broker: { allow_anonymous: true } }, { logger: quiet.logger });
    expect(quiet.lines.filter((l) => l.security === true)).toEqual([]);
  });
});
