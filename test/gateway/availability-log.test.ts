import { afterEach, describe, expect, it } from 'vitest';
import { captureLogger } from '../broker/helpers.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { createTestAdapterModule } from '../helpers/test-adapter.js';

describe('availability changes are logged with their cause', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  const availabilityLines = (log: ReturnType<typeof captureLogger>) =>
    log.lines
      .filter((line) => line.availability !== undefined)
      .map(({ level, device, availability, msg }) => ({ level, device, availability, msg }));

  it('says online when heard, offline when the adapter says so, and offline after availability_timeout', async () => {
    const log = captureLogger();
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      {
        devices: [
          { id: 'dev1', transport: 'test' },
          { id: 'quiet', transport: 'test', availability_timeout: 1 },
        ],
      },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    const ctx = adapter.current().ctx;
    ctx.telemetry('dev1', { temperature: 20 });
    ctx.telemetry('dev1', { temperature: 21 }); // no change: no second line
    ctx.availability('dev1', false);
    ctx.telemetry('quiet', { temperature: 5 });
    await expect
      .poll(() => availabilityLines(log).filter((line) => line.device === 'quiet'), { timeout: 5000 })
      .toHaveLength(2);
    expect(availabilityLines(log)).toEqual([
      { level: 30, device: 'dev1', availability: 'online', msg: 'device "dev1" is online: heard from it' },
      { level: 30, device: 'dev1', availability: 'offline', msg: 'device "dev1" is offline: adapter test says so' },
      { level: 30, device: 'quiet', availability: 'online', msg: 'device "quiet" is online: heard from it' },
      {
        level: 30,
        device: 'quiet',
        availability: 'offline',
        msg: 'device "quiet" is offline: nothing heard for 1 s (availability_timeout)',
      },
    ]);
  });

  it('says why a device added or disabled by a reload is offline', async () => {
    const log = captureLogger();
    const adapter = createTestAdapterModule();
    gw = await startTestGateway(
      { devices: [{ id: 'dev1', transport: 'test' }] },
      { adapterModules: [adapter.module], logger: log.logger },
    );
    adapter.current().ctx.telemetry('dev1', { temperature: 20 });
    const client = await gw.connect();
    expect(await gw.request(client, 'device/add', { id: 'dev2', transport: 'test' })).toMatchObject({ status: 'ok' });
    expect(await gw.request(client, 'device/options', { id: 'dev1', options: { disabled: true } })).toMatchObject({
      status: 'ok',
    });
    expect(availabilityLines(log).map((line) => line.msg)).toEqual([
      'device "dev1" is online: heard from it',
      'device "dev2" is offline: just added: until it is heard from',
      'device "dev1" is offline: disabled in the config',
    ]);
  });
});
