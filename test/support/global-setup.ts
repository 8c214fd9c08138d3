import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase, databaseExists, dropDatabase, ensureRoles, migrate, ROLES, withDatabase } from '../../src/db/provision';
import { adminUrl } from './env';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

/**
 * One migrated template per migration set (named by their hash), built once; every test file
 * then clones it, which takes milliseconds instead of re-running migrations.
 */
export default async function setup(project: TestProject): Promise<void> {
  const dir = join(import.meta.dirname, '../../migrations');
  const hash = createHash('sha256');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) hash.update(file).update(readFileSync(join(dir, file)));
  const template = `runlane_tpl_${hash.digest('hex').slice(0, 12)}`;
  await ensureRoles(adminUrl());
  if (!(await databaseExists(adminUrl(), template))) {
    const building = `${template}_building_${process.pid}`;
    await dropDatabase(adminUrl(), building);
    await createDatabase(adminUrl(), building);
    await migrate(withDatabase(adminUrl(), building), ROLES.owner);
    const client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
    try {
      await client.query(`alter database "${building}" rename to "${template}"`);
      await client.query(`alter database "${template}" is_template true`);
    } catch (err) {
      // Another run won the race; its template is identical.
      if (!(await databaseExists(adminUrl(), template))) throw err;
      await dropDatabase(adminUrl(), building);
    } finally {
      await client.end();
    }
  }
  project.provide('templateDatabase', template);
}
