#!/usr/bin/env node
/** CLI entry: `serve` (default) starts everything; `migrate` only brings the database up to date. */
import { loadConfig, ConfigError } from './config/config.js';
import { startServer } from './server.js';
import { openDb, migrate } from './store/db.js';

async function main(argv: string[]) {
  const command = argv[0] ?? 'serve';
  if (command === 'migrate') {
    const config = loadConfig();
    const { db } = openDb({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, pgSchema: config.SWITCHBOARD_DATABASE_SCHEMA });
    await migrate(db, config.SWITCHBOARD_DATABASE_SCHEMA);
    await db.destroy();
    console.log('database is up to date');
    return;
  }
  if (command !== 'serve') {
    console.error(`Unknown command "${command}". Use: serve | migrate`);
    process.exit(2);
  }
  const server = await startServer();
  console.log(`Switchboard is running at ${server.url}`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.services.log.info('shutting down', { signal });
    await server.close().catch(() => {});
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof ConfigError) console.error(err.message);
  else console.error(err);
  process.exit(1);
});
