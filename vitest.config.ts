import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**', 'web/**', 'dist/**'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Vitest's default is one worker less than the cores: one on the 2-core machines CI runs on,
    // while most API tests wait on sockets, timers and PostgreSQL. One more worker than cores keeps
    // both busy (npm test 388 → ~150 s, test:pg ~510 → ~320 s there); `--maxWorkers` overrides.
    maxWorkers: Math.min(8, availableParallelism() + 1),
    // Each file builds its own servers, stores and fakes, and nothing of ours keeps state in a module
    // that a test depends on, so a worker imports the server once instead of once per file (about
    // 1.4 s a file): `isolate: false`. Keep it so: a test must not depend on state kept in a module.
    isolate: false,
  },
});
