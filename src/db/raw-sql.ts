import type { EntityManager } from '@mikro-orm/postgresql';
import { createRequire } from 'node:module';
import pg from 'pg';
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

export type PipelinedStatement = { sql: string; params?: unknown[] };

/**
 * Statements sent together with one Sync: one round trip, and PostgreSQL runs them as one
 * implicit transaction (committed at the Sync when all succeed, rolled back as a whole when one
 * fails). Each statement's rows come back in order. A failure leaves the connection's prepared
 * statements uncertain, so the connection is discarded.
 */
export function runPipelined(client: PooledClient, statements: PipelinedStatement[]): Promise<unknown[][]> {
  return new Promise((resolve, reject) => {
    const pipeline = new Pipeline(
      statements.map(({ sql, params }) => ({ ...prepare(sql), values: params ?? [] })),
      resolve,
      (err) => {
        // Whether the failed statement's Parse took effect is unknown, so its name may or may not
        // exist on the server: the pool replaces the connection and logs this reason, which names
        // the error's code only (a message can quote a parameter).
        const code = (err as { code?: unknown }).code ?? (err instanceof Error ? err.name : 'error');
        client.__knex__disposed ??= `a statement pipeline failed (${String(code)}); discarded, its prepared statements are uncertain`;
        reject(err);
      },
    );
    (client as unknown as { query(submittable: Pipeline): void }).query(pipeline);
  });
}

type PgConnection = {
  stream: { cork?(): void; uncork?(): void };
  parsedStatements: Record<string, string>;
  parse(m: { text: string; name?: string }): void;
  bind(m: { statement?: string; values: unknown[] }): void;
  sendCopyFail(message: string): void;
  describe(m: { type: 'P'; name: string }): void;
  execute(m: { portal: string }): void;
  sync(): void;
};

/** The parts of pg's Result class (rows of one statement) that a submittable uses; pg's types leave them out. */
type PgResult = {
  _types?: unknown;
  addFields(fields: unknown[]): void;
  parseRow(fields: unknown[]): unknown;
};
const PgResult = pg.Result as unknown as new (rowMode?: string, types?: unknown) => PgResult;
/** pg's own conversion of parameter values (dates, buffers, arrays, JSON), as its queries use. */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue(value: unknown): unknown };

/** A pg "submittable": pg hands it the connection when the client is free and routes the replies to it. */
class Pipeline {
  /** Set by pg to the client's type parsers. */
  readonly _result = new PgResult();
  private readonly results: unknown[][] = [];
  private current: PgResult | null = null;
  private rows: unknown[] = [];
  private settled = false;

  constructor(
    private readonly statements: (Prepared & { values: unknown[] })[],
    private readonly resolve: (results: unknown[][]) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  /** Writes every statement and one Sync in one go; a value pg cannot convert fails it before anything is sent. */
  submit(connection: PgConnection): Error | null {
    let values: unknown[][];
    try {
      values = this.statements.map((s) => s.values.map((v) => prepareValue(v)));
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    connection.stream.cork?.();
    try {
      this.statements.forEach((s, i) => {
        if (!s.name || connection.parsedStatements[s.name] !== s.text) {
          connection.parse({ text: s.text, name: s.name });
          // Marked before the server answers: a failure discards the connection anyway.
          if (s.name) connection.parsedStatements[s.name] = s.text;
        }
        connection.bind({ statement: s.name, values: values[i]! });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      });
      connection.sync();
    } finally {
      connection.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(msg: { fields: unknown[] }): void {
    this.current = new PgResult(undefined, this._result._types);
    this.current.addFields(msg.fields);
  }

  handleDataRow(msg: { fields: unknown[] }): void {
    this.rows.push(this.current!.parseRow(msg.fields));
  }

  handleCommandComplete(): void {
    this.results.push(this.rows);
    this.rows = [];
    this.current = null;
  }

  handleEmptyQuery(): void {
    this.handleCommandComplete();
  }

  handleError(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(err);
  }

  handleReadyForQuery(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(this.results);
  }

  handlePortalSuspended(): void {}
  handleCopyInResponse(connection: PgConnection): void {
    connection.sendCopyFail('COPY is not supported in a pipeline');
  }
  handleCopyData(): void {}
}
