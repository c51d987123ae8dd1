import { defineConfig } from 'vitest/config';

// Two projects: `unit` (npm test: in-process, real aedes/UDP/pty where available) and
// `interop` (npm run test:interop: real third-party peers installed from Debian).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'adapters/**/*.test.ts', 'gateway/**/*.test.ts'],
          exclude: ['test/interop/**', 'node_modules/**', 'dist/**'],
          testTimeout: 20_000,
          hookTimeout: 30_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'interop',
          include: ['test/interop/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
          fileParallelism: false,
        },
      },
    ],
  },
});
