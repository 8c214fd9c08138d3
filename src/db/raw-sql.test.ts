import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminQuery, createTestDatabase, type TestDatabase } from '../../test/support/database';
import { InputError, NotFoundError } from './errors';
import { createOrm, type Orm } from './orm';
import { numberPlaceholders, runPipelined, runStatement, withConnection } from './raw-sql';
import { callDefiner, executeRead, inTenantSql, inTenantStatement, readInTenant, type TenantRead } from './tenant-transaction';

describe('numberPlaceholders', () => {
  it('numbers ? in order and leaves quoted text and comments alone', () => {
    expect(numberPlaceholders(`select ?::jsonb, 'a?b', "c?" from t where x = ? -- why?\n and y = ?`)).toBe(
      `select $1::jsonb, 'a?b', "c?" from t where x = $2 -- why?\n and y = $3`,
    );
    expect(numberPlaceholders(`select 'it''s?' , ?`)).toBe(`select 'it''s?' , $1`);
  });
});

describe('inTenantSql and callDefiner (plain SQL on the pool, as the application role)', () => {
  let db: TestDatabase;
  let orm: Orm;
  const tenantA = randomUUID();
  const tenantB = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    // One connection: every test below proves it came back to the pool clean.
    orm = await createOrm({ url: db.appUrl, poolSize: 1, entities: [] });
    for (const [id, slug] of [
      [tenantA, 'raw-a'],
      [tenantB, 'raw-b'],
    ]) {
      await adminQuery(db, `insert into tenants (id, slug, name) values ($1, $2, $2)`, [id, slug]);
    }
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  const slugs = (tenantId: string) =>
    inTenantSql(orm, tenantId, (sql) => sql.execute<{ slug: string }[]>('select slug from tenants order by slug')).then((rows) => rows.map((r) => r.slug));

  it('pins the tenant: row-level security shows each tenant its own rows only', async () => {
    expect(await slugs(tenantA)).toEqual(['raw-a']);
    expect(await slugs(tenantB)).toEqual(['raw-b']);
  });

  it('commits the work, and rolls all of it back when the work throws', async () => {
    await inTenantSql(orm, tenantA, (sql) => sql.execute(`update tenants set name = ? where id = ?`, ['kept', tenantA]));
    await expect(
      inTenantSql(orm, tenantA, async (sql) => {
        await sql.execute(`update tenants set name = ? where id = ?`, ['lost', tenantA]);
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    const [row] = await adminQuery(db, 'select name from tenants where id = $1', [tenantA]);
    expect(row.name).toBe('kept');
  });

  it('maps SQL errors to domain errors and leaves the connection usable', async () => {
    await expect(inTenantSql(orm, tenantA, (sql) => sql.execute(`select ?::uuid`, ['not-a-uuid']))).rejects.toBeInstanceOf(InputError);
    expect(await slugs(tenantA)).toEqual(['raw-a']);
  });

  it('refuses a tenant id that is not a uuid before sending anything', async () => {
    await expect(inTenantSql(orm, `${tenantA}'; drop table tenants; --`, async () => 1)).rejects.toBeInstanceOf(NotFoundError);
    expect(await adminQuery(db, 'select count(*)::int as n from tenants')).toEqual([{ n: 2 }]);
  });

  it('calls SECURITY DEFINER functions outside any tenant', async () => {
    expect(await callDefiner<{ id: string }>(orm, 'select runlane_tenant_id(?) as id', ['raw-b'])).toEqual([{ id: tenantB }]);
  });

  it('discards a connection the server closed, and the next call gets a fresh one', async () => {
    await adminQuery(db, `select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and usename = 'runlane_app'`, [db.name]);
    await slugs(tenantA).catch(() => undefined);
    expect(await slugs(tenantA)).toEqual(['raw-a']);
  });

  it('inTenantStatement: one statement pinned to the tenant, committed, and the pin gone afterwards', async () => {
    expect(await inTenantStatement<{ slug: string }>(orm, tenantB, 'select slug from tenants order by slug', [])).toEqual([{ slug: 'raw-b' }]);
    await inTenantStatement(orm, tenantB, `update tenants set name = ? where id = ?`, ['one trip', tenantB]);
    expect((await adminQuery(db, 'select name from tenants where id = $1', [tenantB]))[0].name).toBe('one trip');
    // Another tenant's row is invisible to the statement (RLS), so nothing changes.
    expect(await inTenantStatement(orm, tenantA, `update tenants set name = ? where id = ? returning id`, ['stolen', tenantB])).toEqual([]);
    expect(await withConnection(orm, (c) => runPipelined(c, [{ sql: `select current_setting('app.tenant_id', true) as t` }]))).toEqual([[{ t: '' }]]);
  });

  it('readInTenant: several reads in one snapshot of the tenant, each decoded by its own rule; executeRead runs one in a held transaction', async () => {
    const slugRead: TenantRead<string[]> = { sql: 'select slug from tenants order by slug', params: [], decode: (rows) => rows.map((r) => r.slug) };
    const byId = (id: string): TenantRead<string | null> => ({
      sql: 'select slug from tenants where id = ?',
      params: [id],
      decode: async ([row]) => (row ? `found ${row.slug}` : null),
    });
    // Tenant A sees its own row only: the other tenant's id reads as nothing.
    expect(await readInTenant(orm, tenantA, { all: slugRead, mine: byId(tenantA), theirs: byId(tenantB) })).toEqual({
      all: ['raw-a'],
      mine: 'found raw-a',
      theirs: null,
    });
    expect(await inTenantSql(orm, tenantB, (sql) => executeRead(sql, byId(tenantB)))).toBe('found raw-b');
    // A failing read fails the whole call with a domain error, and the pool carries on.
    await expect(readInTenant(orm, tenantA, { bad: { sql: 'select ?::uuid', params: ['not-a-uuid'], decode: () => 1 } })).rejects.toBeInstanceOf(InputError);
    expect(await readInTenant(orm, tenantB, { all: slugRead })).toEqual({ all: ['raw-b'] });
  });

  it('runPipelined: the statements are one transaction, rolled back whole when one fails, and the pool recovers', async () => {
    const setName = { sql: `update tenants set name = ? where id = ?`, params: ['half-written', tenantA] };
    await expect(
      withConnection(orm, (c) => runPipelined(c, [{ sql: `select set_config('app.tenant_id', ?, true)`, params: [tenantA] }, setName, { sql: `select 1 / 0` }])),
    ).rejects.toThrow(/division by zero/);
    expect((await adminQuery(db, 'select name from tenants where id = $1', [tenantA]))[0].name).toBe('kept');
    // Parameters and rows converted as the client's other statements convert them (dates, JSON,
    // null), and the rows of each statement, in order.
    const typed = { sql: `select ?::timestamptz as at, ?::jsonb as doc, ?::text as nothing`, params: [new Date('2026-01-02T03:04:05.678Z'), JSON.stringify({ a: [1] }), null] };
    const alone = await withConnection(orm, (c) => runStatement(c, typed.sql, typed.params));
    expect(alone).toEqual([{ at: expect.stringMatching(/^2026-01-02 03:04:05\.678/), doc: { a: [1] }, nothing: null }]);
    const results = await withConnection(orm, (c) => runPipelined(c, [typed, { sql: `select generate_series(1, 3) as n` }, { sql: `select 1 where false` }]));
    expect(results).toEqual([alone, [{ n: 1 }, { n: 2 }, { n: 3 }], []]);
    expect(await slugs(tenantA)).toEqual(['raw-a']);
    // The same statement twice in one pipeline is prepared once.
    const twice = { sql: `select ?::int + 1 as n`, params: [41] };
    expect(await withConnection(orm, (c) => runPipelined(c, [twice, twice]))).toEqual([[{ n: 42 }], [{ n: 42 }]]);
    // A value pg cannot convert fails the pipeline before anything is sent; the pool carries on.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(withConnection(orm, (c) => runPipelined(c, [{ sql: `select ?::jsonb`, params: [circular] }]))).rejects.toThrow(/circular/i);
    expect(await slugs(tenantA)).toEqual(['raw-a']);
  });

  it('inTenantStatement maps SQL errors to domain errors', async () => {
    await expect(inTenantStatement(orm, tenantA, `select ?::uuid`, ['not-a-uuid'])).rejects.toBeInstanceOf(InputError);
    expect(await inTenantStatement(orm, tenantA, `select 2 as two`, [])).toEqual([{ two: 2 }]);
  });
});
