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

/** What both an EntityManager and a SqlRunner offer: run one statement, get its rows. */
export type SqlExecutor = { execute(sql: string, params?: any[]): Promise<any> };

/** Plain SQL inside a tenant transaction: rows in, rows out, no entity hydration. */
export interface SqlRunner {
  execute<T = Record<string, unknown>[]>(sql: string, params?: unknown[]): Promise<T>;
}

/**
 * inTenant for hot paths (the run loop's journal writes): the same pinned app.tenant_id and RLS,
 * on the ORM's connection pool, but through the query builder's transaction directly, skipping
 * the EntityManager's fork, identity map and flush, which cost more CPU than the SQL itself.
 */
export async function inTenantSql<T>(orm: Orm, tenantId: string, work: (sql: SqlRunner) => Promise<T>): Promise<T> {
  const knex = (orm.em as unknown as EntityManager).getKnex();
  try {
    return await knex.transaction(async (trx) => {
      const runner: SqlRunner = {
        async execute<R>(sql: string, params: unknown[] = []): Promise<R> {
          const result = (await trx.raw(sql, params as never[])) as { rows: unknown[] };
          return result.rows as R;
        },
      };
      await runner.execute(`select set_config('app.tenant_id', ?, true)`, [tenantId]);
      return work(runner);
    });
  } catch (err) {
    throw mapDriverError(err);
  }
}
