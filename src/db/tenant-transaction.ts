import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm';
import { mapDriverError, NotFoundError } from './errors';
import { runPipelined, runScript, runStatement, withConnection, type PipelinedStatement } from './raw-sql';

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
  const [rows] = await inTenantPipeline(orm, tenantId, [{ sql, params }]);
  return rows as T[];
}

/** Several statements in one tenant transaction and one round trip; the rows of each, in order. */
async function inTenantPipeline(orm: Orm, tenantId: string, statements: PipelinedStatement[]): Promise<unknown[][]> {
  try {
    const [, ...rows] = await withConnection(orm, (client) =>
      runPipelined(client, [{ sql: `select set_config('app.tenant_id', ?, true)`, params: [tenantId] }, ...statements]),
    );
    return rows;
  } catch (err) {
    throw mapDriverError(err);
  }
}

/** One query and what its rows mean: so that several can travel together (readInTenant). */
export type TenantRead<T> = { sql: string; params: unknown[]; decode: (rows: Record<string, any>[]) => T | Promise<T> };

export type ReadResults<R extends Record<string, TenantRead<unknown>>> = { [K in keyof R]: R[K] extends TenantRead<infer T> ? T : never };

/** Runs one read inside a transaction the caller holds. */
export async function executeRead<T>(sql: SqlExecutor, read: TenantRead<T>): Promise<T> {
  return read.decode(await sql.execute(read.sql, read.params));
}

/**
 * Several reads in one tenant transaction and one round trip (a snapshot of each statement, in
 * order), then what each one means.
 */
export async function readInTenant<R extends Record<string, TenantRead<unknown>>>(orm: Orm, tenantId: string, reads: R): Promise<ReadResults<R>> {
  const names = Object.keys(reads) as (keyof R & string)[];
  const rows = await inTenantPipeline(orm, tenantId, names.map((name) => ({ sql: reads[name]!.sql, params: reads[name]!.params })));
  const results = await Promise.all(names.map((name, i) => reads[name]!.decode(rows[i] as Record<string, any>[])));
  return Object.fromEntries(names.map((name, i) => [name, results[i]])) as ReadResults<R>;
}

/**
 * A SqlExecutor whose every statement is its own transaction (inTenantStatement): for work that
 * is one write, perhaps followed by reads of committed rows, where a transaction around them
 * would only add round trips.
 */
export function tenantStatements(orm: Orm, tenantId: string): SqlExecutor {
  return { execute: (sql: string, params: unknown[] = []) => inTenantStatement(orm, tenantId, sql, params) };
}
