import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Chromium suites start browsers and servers; two cores, so keep files from piling up.
    maxWorkers: 2,
  },
});
