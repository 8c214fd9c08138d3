import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm';
import { mapDriverError, NotFoundError } from './errors';
import { runPipelined, runScript, runStatement, withConnection } from './raw-sql';

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

/** Calls to the narrow SECURITY DEFINER functions, which run outside any tenant (one autocommitted statement). */
export async function callDefiner<T>(orm: Orm, sql: string, params: unknown[]): Promise<T[]> {
  try {
    return await withConnection(orm, (client) => runStatement<T[]>(client, sql, params));
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * inTenant for hot paths (the run loop's journal writes, enqueue): the same pinned app.tenant_id
 * and RLS on the ORM's connection pool, with plain prepared statements and no EntityManager (its
 * fork, identity map and flush cost more CPU than the SQL). BEGIN and the tenant pin travel as
 * one round trip.
 */
export async function inTenantSql<T>(orm: Orm, tenantId: string, work: (sql: SqlRunner) => Promise<T>): Promise<T> {
  // The id is inlined into the opening script, so it must be exactly a uuid.
  if (!UUID.test(tenantId)) throw new NotFoundError('Tenant');
  try {
    return await withConnection(orm, async (client) => {
      await runScript(client, `begin; select set_config('app.tenant_id', '${tenantId}', true)`);
      try {
        const result = await work({ execute: (sql, params) => runStatement(client, sql, params) });
        await runScript(client, 'commit');
        return result;
      } catch (err) {
        await runScript(client, 'rollback').catch(() => undefined);
        throw err;
      }
    });
  } catch (err) {
    throw mapDriverError(err);
  }
}

/**
 * One statement in the tenant's transaction, in one round trip: the tenant pin and the statement
 * go out together and commit together (the hot single-statement writes, such as a run's log
 * lines): one round trip where inTenantSql takes three.
 */
export async function inTenantStatement<T>(orm: Orm, tenantId: string, sql: string, params: unknown[]): Promise<T[]> {
  try {
    const [, rows] = await withConnection(orm, (client) =>
      runPipelined(client, [{ sql: `select set_config('app.tenant_id', ?, true)`, params: [tenantId] }, { sql, params }]),
    );
    return rows as T[];
  } catch (err) {
    throw mapDriverError(err);
  }
}

/**
 * A SqlExecutor whose every statement is its own transaction (inTenantStatement): for work that
 * is one write, perhaps followed by reads of committed rows, where a transaction around them
 * would only add round trips.
 */
export function tenantStatements(orm: Orm, tenantId: string): SqlExecutor {
  return { execute: (sql: string, params: unknown[] = []) => inTenantStatement(orm, tenantId, sql, params) };
}
