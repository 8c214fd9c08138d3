import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm';
import { mapDriverError } from './errors';

export type TenantEm = EntityManager;

/**
 * The only way application code touches tenant rows: a fresh EntityManager in a transaction
 * whose first statement pins app.tenant_id for that transaction alone (set_config(..., true)),
 * so RLS filters every statement and nothing leaks to the next user of the pooled connection.
 */
export async function inTenant<T>(orm: Orm, tenantId: string, work: (em: TenantEm) => Promise<T>): Promise<T> {
  const em = orm.em.fork({ clear: true });
  try {
    return await em.transactional(async (tx) => {
      await tx.execute(`select set_config('app.tenant_id', ?, true)`, [tenantId]);
      return work(tx);
    });
  } catch (err) {
    throw mapDriverError(err);
  }
}

/** Calls to the narrow SECURITY DEFINER functions, which run outside any tenant. */
export async function callDefiner<T>(orm: Orm, sql: string, params: unknown[]): Promise<T[]> {
  try {
    return (await orm.em.fork().execute(sql, params as any[])) as T[];
  } catch (err) {
    throw mapDriverError(err);
  }
}
