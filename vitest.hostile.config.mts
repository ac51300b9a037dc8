// The hostile-input, crash-safety, backup and shell-security suite (npm run test:hostile):
// kept out of the default run (vitest.config.mts) so `npx vitest run` and this suite do not
// run the same files twice; `npm test` runs both.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/hostile/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
    pool: 'forks',
  },
});
