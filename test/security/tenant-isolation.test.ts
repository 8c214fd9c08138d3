import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { gql, startTestServer, type TestServer } from '../support/app';

let server: TestServer;
let alpha: Awaited<ReturnType<TestServer['tenant']>>;
let beta: Awaited<ReturnType<TestServer['tenant']>>;
let alphaWorker: { id: string; uuid: string; token: string };

beforeAll(async () => {
  server = await startTestServer();
  alpha = await server.tenant('alpha');
  beta = await server.tenant('beta');
  const { body } = await gql(
    server.url,
    alpha.token,
    `mutation { createAccount(input: { name: "Alpha Worker", scopes: ["auth:read"] }) { ... on AccountWithToken { token account { id uuid } } } }`,
  );
  alphaWorker = { ...body.data.createAccount.account, token: body.data.createAccount.token };
});
afterAll(() => server?.close());

describe("a second tenant's token", () => {
  it("lists none of the first tenant's accounts", async () => {
    const { body } = await gql(server.url, beta.token, `{ accounts(first: 200) { edges { node { uuid name } } } }`);
    const ids = body.data.accounts.edges.map((e: any) => e.node.uuid);
    expect(ids).toEqual([beta.accountId]);
    expect(ids).not.toContain(alphaWorker.uuid);
  });

  it('resolves node(id) of the first tenant to null, by global id and by uuid', async () => {
    for (const id of [alphaWorker.id, alphaWorker.uuid]) {
      const { body } = await gql(server.url, beta.token, `query($id: ID!) { node(id: $id) { id } }`, { id });
      expect(body.data?.node ?? null).toBeNull();
    }
  });

  it('reads null through account(id)', async () => {
    for (const id of [alphaWorker.id, alphaWorker.uuid]) {
      const { body } = await gql(server.url, beta.token, `query($id: ID!) { account(id: $id) { name } }`, { id });
      expect(body).toEqual({ data: { account: null } });
    }
  });

  it('touches nothing through any account mutation', async () => {
    for (const name of ['pauseAccount', 'resumeAccount', 'revokeAccount', 'deleteAccount', 'rotateAccountToken']) {
      const { body } = await gql(
        server.url,
        beta.token,
        `mutation($id: ID!) { ${name}(id: $id) { __typename ... on Error { code } } }`,
        { id: alphaWorker.id },
      );
      expect(body.data[name]).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    }
    const update = await gql(
      server.url,
      beta.token,
      `mutation($id: ID!) { updateAccount(id: $id, input: { name: "hijacked" }) { __typename } }`,
      { id: alphaWorker.uuid },
    );
    expect(update.body.data.updateAccount.__typename).toBe('NotFoundError');
    // The first tenant's account is untouched and its token still works.
    const whoami = await fetch(`${server.url}/agents/v1/auth/whoami`, { headers: { authorization: `Bearer ${alphaWorker.token}` } });
    expect(whoami.status).toBe(200);
    const body = await whoami.json();
    expect(body.principal).toMatchObject({ name: 'Alpha Worker', tenant: { slug: 'alpha' } });
  });

  it('sees only its own tenant through viewer and REST whoami', async () => {
    const { body } = await gql(server.url, beta.token, `{ viewer { tenant { slug } accountId } }`);
    expect(body.data.viewer).toEqual({ tenant: { slug: 'beta' }, accountId: beta.accountId });
    const whoami = await (await fetch(`${server.url}/agents/v1/auth/whoami`, { headers: { authorization: `Bearer ${beta.token}` } })).json();
    expect(whoami.principal.tenant.slug).toBe('beta');
  });
});

describe('row-level security in the database', () => {
  it('is enabled and forced, with the tenant policy, on every table that has a tenant_id', async () => {
    const client = new pg.Client({ connectionString: server.db.adminUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ table: string; rls: boolean; forced: boolean; policies: string[] }>(`
        select c.relname as table, c.relrowsecurity as rls, c.relforcerowsecurity as forced,
               coalesce(array_agg(pg_get_expr(p.polqual, p.polrelid)) filter (where p.polname is not null), '{}') as policies
        from pg_class c
        join pg_namespace n on n.oid = c.relnamespace and n.nspname = 'public'
        left join pg_policy p on p.polrelid = c.oid
        where c.relkind = 'r'
          and (exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
               or c.relname = 'tenants')
        group by c.relname, c.relrowsecurity, c.relforcerowsecurity`);
      expect(rows.map((r) => r.table)).toEqual(
        expect.arrayContaining(['tenants', 'accounts', 'tenant_data_keys', 'agent_configs', 'integration_keys', 'audit_events']),
      );
      for (const row of rows) {
        expect(row, row.table).toMatchObject({ rls: true, forced: true });
        expect(row.policies.length, row.table).toBeGreaterThan(0);
        for (const policy of row.policies) {
          expect(policy).toMatch(/NULLIF\(current_setting\('app\.tenant_id'::text, true\), ''::text\)\)::uuid/);
        }
      }
    } finally {
      await client.end();
    }
  });

  it('gives the application role no way around it', async () => {
    const client = new pg.Client({ connectionString: server.db.adminUrl });
    await client.connect();
    try {
      const role = await client.query(`select rolsuper, rolbypassrls from pg_roles where rolname = 'runlane_app'`);
      expect(role.rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
      const owned = await client.query(
        `select c.relname from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = 'runlane_app'`,
      );
      expect(owned.rows).toEqual([]);
      const definers = await client.query(`
        select p.proname, r.rolname from pg_proc p join pg_roles r on r.oid = p.proowner
        join pg_namespace n on n.oid = p.pronamespace and n.nspname = 'public' where p.prosecdef`);
      for (const fn of definers.rows) expect(fn.rolname, fn.proname).toBe('runlane_definer');
    } finally {
      await client.end();
    }
  });

  it('keeps the audit log append-only, even for its owner', async () => {
    const app = new pg.Client({ connectionString: server.db.appUrl });
    const admin = new pg.Client({ connectionString: server.db.adminUrl });
    await app.connect();
    await admin.connect();
    try {
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [beta.tenantId]);
      await app.query(
        `insert into audit_events (tenant_id, id, actor, action, target_type) values ($1, gen_random_uuid(), 'test', 'test.event', 'test')`,
        [beta.tenantId],
      );
      await expect(app.query(`update audit_events set action = 'rewritten'`)).rejects.toThrow(/permission denied/);
      await app.query('rollback');
      await admin.query(
        `insert into audit_events (tenant_id, id, actor, action, target_type) values ($1, gen_random_uuid(), 'test', 'test.event', 'test')`,
        [beta.tenantId],
      );
      await expect(admin.query(`delete from audit_events`)).rejects.toThrow(/append-only/);
      await expect(admin.query(`update audit_events set action = 'x'`)).rejects.toThrow(/append-only/);
      await expect(admin.query(`truncate audit_events`)).rejects.toThrow(/append-only/);
    } finally {
      await app.end();
      await admin.end();
    }
  });

  it('shows the application role no rows without a tenant and only its tenant with one', async () => {
    const app = new pg.Client({ connectionString: server.db.appUrl });
    await app.connect();
    try {
      expect((await app.query('select count(*)::int as n from accounts')).rows[0].n).toBe(0);
      expect((await app.query('select count(*)::int as n from tenants')).rows[0].n).toBe(0);
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [beta.tenantId]);
      const visible = await app.query('select distinct tenant_id from accounts');
      expect(visible.rows).toEqual([{ tenant_id: beta.tenantId }]);
      // Writing a row for another tenant is refused by the policy's WITH CHECK.
      await expect(
        app.query(
          `insert into accounts (tenant_id, name, scopes, token_hash, token_prefix, token_last4)
           values ($1, 'smuggled', '{}', repeat('a', 64), 'rlt_xxxxxxxx', 'xxxx')`,
          [alpha.tenantId],
        ),
      ).rejects.toThrow(/row-level security/);
      await app.query('rollback');
      // set_config(..., true) lasted only for that transaction.
      expect((await app.query('select count(*)::int as n from accounts')).rows[0].n).toBe(0);
      await expect(app.query('alter table accounts disable row level security')).rejects.toThrow(/owner/);
      await expect(app.query('set row_security = off; select * from accounts')).rejects.toThrow();
    } finally {
      await app.end();
    }
  });
});
