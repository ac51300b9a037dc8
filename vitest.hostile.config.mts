// The hostile-input, crash-safety, backup and shell-security suite (npm run test:hostile):
// kept out of the default run (vitest.config.mts) so `npx vitest run` and this suite do not
// run the same files twice; `npm test` runs both.
import { defineConfig } from 'vitest/config';
import { scaled, slowdown, SLOWDOWN_ENV } from './test/hostile/slowdown';

// measured once here; the test processes inherit it through the environment
const factor = slowdown();
console.log(`hostile suite: timeouts scaled by ${factor.toFixed(2)} (${SLOWDOWN_ENV}; the machine's load when the suite started)`);

export default defineConfig({
  test: {
    include: ['test/hostile/**/*.test.ts'],
    // builds out/ once, before any file runs
    globalSetup: ['test/hostile/global-setup.ts'],
    environment: 'node',
    // hang guards, not speed requirements (test/hostile/slowdown.ts)
    testTimeout: scaled(120_000),
    hookTimeout: scaled(120_000),
    maxWorkers: 2,
    pool: 'forks',
  },
});
