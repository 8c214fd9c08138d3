import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { createDatabase, dropDatabase, ROLES, withDatabase } from '../../src/db/provision';
import { adminUrl } from './env';

export type TestDatabase = {
  name: string;
  /** As the application role: RLS applies. */
  appUrl: string;
  /** As the superuser: for assertions about the catalog, never for application queries. */
  adminUrl: string;
  drop(): Promise<void>;
};

/** A fresh database cloned from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `runlane_test_${randomBytes(6).toString('hex')}`;
  await createDatabase(adminUrl(), name, inject('templateDatabase'));
  return {
    name,
    appUrl: withDatabase(adminUrl(), name, ROLES.app, ''),
    adminUrl: withDatabase(adminUrl(), name),
    drop: () => dropDatabase(adminUrl(), name),
  };
}

/** One query as the superuser, for assertions about what is really stored (RLS does not apply). */
export async function adminQuery<T = any>(db: TestDatabase, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}
