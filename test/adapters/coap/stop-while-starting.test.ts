// The host may stop the adapter while its start() is under way (a config reload, or a shutdown, while the host retries
// a start that failed): once both are done nothing may run, least of all a socket bound on the adapter's port.
import { afterEach, describe, expect, it } from 'vitest';
import { coapAdapterConfigSchema } from '../../../adapters/coap/config.js';
import { coapAdapterModule } from '../../../adapters/coap/index.js';
import type { Adapter } from '../../../gateway/adapter.js';
import { RecordingContext } from '../lwm2m/recording-context.js';

let adapter: Adapter | undefined;
afterEach(async () => {
  await adapter?.stop();
  adapter = undefined;
});

describe('a CoAP adapter stopped while it starts', () => {
  it('is stopped once both have finished: its port is closed', async () => {
    adapter = await coapAdapterModule.create(
      coapAdapterConfigSchema.parse({ bind: '::1', port: 0 }),
      new RecordingContext(),
    );
    const starting = adapter.start();
    await adapter.stop();
    await starting;
    expect(adapter.status()).toMatchObject({ state: 'stopped', details: { port: 0 } });
  });
});
