// Child-process entry for start-up signal tests: the real `run` path with the test adapter, whose start() waits
// until the test writes a line to stdin, so that signals can be sent while the gateway is still starting.
// Usage: node --import tsx test/gateway/held-start-process.ts CONFIG
import { createInterface } from 'node:readline';
import type { AdapterModule } from '../../gateway/adapter.js';
import { runGateway } from '../../gateway/main.js';
import { createTestAdapterModule, type TestAdapterConfig } from '../helpers/test-adapter.js';

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: held-start-process.ts CONFIG');

const released = new Promise<void>((resolve) => {
  createInterface({ input: process.stdin }).once('line', () => resolve());
});
const { module } = createTestAdapterModule();
const held: AdapterModule<TestAdapterConfig> = {
  ...module,
  async create(config, ctx) {
    const adapter = await module.create(config, ctx);
    const start = adapter.start.bind(adapter);
    adapter.start = async () => {
      ctx.logger.info('test adapter start held');
      await released;
      await start();
    };
    return adapter;
  },
};

runGateway(configPath, undefined, { adapterModules: [held as AdapterModule<unknown>] }).catch((err: unknown) => {
  console.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
