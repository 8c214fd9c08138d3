import { migrateAsOwner } from '../db/provision';
import { configOrExit, openDatabase, quietLoggerFor } from './runtime';

export async function migrateCommand(): Promise<number> {
  const config = configOrExit();
  const log = quietLoggerFor(config);
  if (!config.database.url) {
    // The embedded database is migrated as it is opened.
    const db = await openDatabase(config, log);
    await db.close();
    process.stdout.write('Embedded database is up to date.\n');
    return 0;
  }
  const url = config.database.ownerUrl ?? config.database.url;
  const applied = await migrateAsOwner(url);
  process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Database is up to date.\n');
  return 0;
}
