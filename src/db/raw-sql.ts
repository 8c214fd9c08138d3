import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm';

/**
 * Plain SQL on the ORM's own connection pool, for the hot paths (the lease queue, the run journal,
 * enqueue): the pg client is borrowed from the pool directly and statements are sent as named
 * prepared statements, so neither the query builder nor PostgreSQL's parser and planner run again
 * for a statement a connection has already seen. Profiles of the run path showed the builder and
 * re-planning costing more CPU than the SQL itself.
 */

/** What the pool hands out: a pg Client, marked by the pool when it breaks. */
type PooledClient = {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  __knex__disposed?: unknown;
};

type PoolOwner = {
  acquireConnection(): Promise<PooledClient>;
  releaseConnection(client: PooledClient): Promise<void>;
};

function poolOf(orm: Orm): PoolOwner {
  return (orm.em as unknown as EntityManager).getKnex().client as unknown as PoolOwner;
}

/** Borrows one connection for `work` and gives it back (the pool discards one marked broken). */
export async function withConnection<T>(orm: Orm, work: (client: PooledClient) => Promise<T>): Promise<T> {
  const pool = poolOf(orm);
  const client = await pool.acquireConnection();
  try {
    return await work(client);
  } finally {
    await pool.releaseConnection(client);
  }
}

type Prepared = { name: string | undefined; text: string };

/** Distinct statements get names up to this many; past it (generated SQL gone wild) they run unnamed. */
const MAX_NAMED = 1000;
const prepared = new Map<string, Prepared>();

/**
 * The codebase writes `?` placeholders (as the ORM does); PostgreSQL wants `$1..$n`. Question
 * marks inside quoted literals, quoted identifiers and comments are left alone.
 */
export function numberPlaceholders(sql: string): string {
  let out = '';
  let n = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const stop = end === -1 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop - 1;
    } else if (c === '?') {
      out += `$${++n}`;
    } else {
      out += c;
    }
  }
  return out;
}

function prepare(sql: string): Prepared {
  let statement = prepared.get(sql);
  if (!statement) {
    statement = { name: prepared.size < MAX_NAMED ? `rl_${prepared.size}` : undefined, text: numberPlaceholders(sql) };
    prepared.set(sql, statement);
  }
  return statement;
}

async function query(client: PooledClient, config: { name?: string; text: string; values?: unknown[] }) {
  try {
    return await client.query(config);
  } catch (err) {
    // Errors the server reports carry a severity; anything else (socket closed, protocol) leaves
    // the connection unusable, and the pool must not hand it out again.
    if ((err as { severity?: unknown }).severity === undefined) client.__knex__disposed ??= err;
    throw err;
  }
}

/** Runs one statement with `?` placeholders on a borrowed connection and returns its rows. */
export async function runStatement<T>(client: PooledClient, sql: string, params: unknown[] = []): Promise<T> {
  const { name, text } = prepare(sql);
  return (await query(client, { name, text, values: params })).rows as T;
}

/** Sends SQL without parameters as one simple query (several statements, one round trip). */
export async function runScript(client: PooledClient, sql: string): Promise<void> {
  await query(client, { text: sql });
}
