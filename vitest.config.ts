import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['engine/**/*.test.ts', 'cli/**/*.test.ts', 'scripts/**/*.test.ts', 'app/**/*.test.ts'],
    // Dawn is a native addon: one device per forked process, never shared across threads.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
