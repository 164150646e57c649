/**
 * A worker process for queue.test.ts: works 'fanout' jobs on the SQLite database in argv[2],
 * printing each job's `n`, until no job is left queued or running; then exits.
 */
import { openDb } from '../store/db.js';
import { createLogger } from '../infra/logger.js';
import { systemClock } from '../infra/system.js';
import { createJobQueue } from './queue.js';

const { db } = openDb({ dataDir: process.argv[2]! });
const q = createJobQueue({ dialect: 'sqlite', db, clock: systemClock, log: createLogger('silent'), pollIntervalMs: 20 });
q.work<{ n: number }>('fanout', async (job) => {
  process.stdout.write(`${job.data.n}\n`);
  await new Promise((r) => setTimeout(r, 15));
}, { concurrency: 2 });
await q.start();
await q.drain({ name: 'fanout', timeoutMs: 20_000 });
await q.stop();
await db.destroy();
