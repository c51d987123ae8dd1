// Child-process entry for lifecycle tests: the real `run` path (signals, exit codes) plus the test adapter.
// Usage: node --import tsx test/helpers/gateway-process.ts CONFIG

import { createRootLogger } from '../../gateway/logger.js';
import { runGateway } from '../../gateway/main.js';
import { createTestAdapterModule } from './test-adapter.js';

const configPath = process.argv[2];
if (!configPath) throw new Error('usage: gateway-process.ts CONFIG');
runGateway(configPath, createRootLogger(), { adapterModules: [createTestAdapterModule().module] }).catch(
  (err: unknown) => {
    console.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
