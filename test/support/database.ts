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
