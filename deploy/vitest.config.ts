import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Checks of the deployment files that need host tools (shellcheck, systemd-analyze, the quadlet generator).
// deploy/test-container.sh installs those tools and runs this; `npm test` does not, hence `.spec.ts`.
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/deploy/**/*.spec.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
