import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { InputError, NotFoundError } from '../../db/errors';
import type { Actor } from '../../platform/auth';
import { SCOPES } from '../accounts/scopes';
import type { ContactService } from './contact.service';

let server: TestServer;
let contacts: ContactService;
let owner: Actor;
let other: Actor;

const actorFor = (tenantId: string): Actor => ({ tenantId, name: 'importer', scopes: new Set(SCOPES) });

beforeAll(async () => {
  server = await startTestServer();
  contacts = server.app.services.contacts;
  owner = actorFor((await server.tenant()).tenantId);
  other = actorFor((await server.tenant()).tenantId);
});
afterAll(() => server?.close());

/** The InputError a call is refused with. */
async function refusal(work: Promise<unknown>): Promise<InputError> {
  const err = await work.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InputError);
  return err as InputError;
}

const countRows = async (tenantId: string) =>
  Number((await adminQuery(server.db, 'select count(*) from contacts where tenant_id = $1', [tenantId]))[0].count);

describe('importing contacts', () => {
  it('inserts, then upserts by externalId, and audits counts without personal data', async () => {
    const first = await contacts.import(owner, [
      { externalId: 'crm-1', name: 'Ada Lovelace', email: 'ADA@example.com ', phone: '+44 20 7946 0958', company: 'Engines Ltd' },
      { externalId: 'crm-2', name: 'Charles Babbage' },
      { name: 'No External Id', email: 'noext@example.com' },
    ]);
    expect(first).toEqual({ inserted: 3, updated: 0 });

    const second = await contacts.import(owner, [
      { externalId: 'crm-1', name: 'Ada King', email: 'ada@example.com' },
      { externalId: 'crm-3', phone: '555 010 2030' },
      { name: 'No External Id', email: 'noext@example.com' },
    ]);
    expect(second).toEqual({ inserted: 2, updated: 1 });
    expect(await countRows(owner.tenantId)).toBe(5);

    // The update replaces the record: company is gone, the email is stored trimmed.
    const [ada] = await adminQuery(server.db, `select * from contacts where tenant_id = $1 and external_id = 'crm-1'`, [owner.tenantId]);
    expect(ada).toMatchObject({ name: 'Ada King', email: 'ada@example.com', phone: null, company: null, email_normalized: 'ada@example.com' });

    const audits = await adminQuery(server.db, `select actor, detail from audit_events where tenant_id = $1 and action = 'contact.import' order by created_at`, [owner.tenantId]);
    expect(audits.map((a) => a.detail)).toEqual([
      { inserted: 3, updated: 0, total: 3 },
      { inserted: 2, updated: 1, total: 3 },
    ]);
    expect(JSON.stringify(audits)).not.toMatch(/Ada|example\.com|crm-/);
  });

  it('refuses bad contacts with the index in the field, and writes nothing', async () => {
    const before = await countRows(owner.tenantId);
    const batch = [
      { name: 'Fine One' },
      { name: 'Fine Two', email: 'two@example.com' },
      { name: 'Fine Three' },
      { name: 'Broken', email: 'not-an-email' },
    ];
    const bad = await refusal(contacts.import(owner, batch));
    expect(bad.field).toBe('contacts.3.email');
    expect(bad.message).toBe('contacts.3.email must look like an email address');
    expect(await countRows(owner.tenantId)).toBe(before);

    const cases: [unknown, string][] = [
      [[{ company: 'Only A Company' }], 'contacts.0'],
      [[{ name: '   ', email: '' }], 'contacts.0'],
      [[{ name: 'x'.repeat(301) }], 'contacts.0.name'],
      [[{ name: 'ok', externalId: 'e'.repeat(201) }], 'contacts.0.externalId'],
      [[{ email: `${'a'.repeat(320)}@example.com` }], 'contacts.0.email'],
      [[{ phone: '1'.repeat(51) }], 'contacts.0.phone'],
      [[{ phone: 'call me' }], 'contacts.0.phone'],
      [[{ name: 'ok', company: 'c'.repeat(301) }], 'contacts.0.company'],
      [[{ name: 'ok' }, { name: 42 }], 'contacts.1.name'],
      [[{ name: 'ok' }, 'garbage'], 'contacts.1'],
      [[null], 'contacts.0'],
      [[{ name: 'ok', favouriteColour: 'blue' }], 'contacts.0.favouriteColour'],
      [[{ name: 'nul\0byte' }], 'contacts.0.name'],
      [[{ externalId: 'dup', name: 'a' }, { externalId: 'dup', name: 'b' }], 'contacts.1.externalId'],
      ['not a list', 'contacts'],
      [{ name: 'an object' }, 'contacts'],
      [null, 'contacts'],
    ];
    for (const [input, field] of cases) {
      const err = await refusal(contacts.import(owner, input as never));
      expect(err.field, JSON.stringify(input)).toBe(field);
      expect(err.message.startsWith(field)).toBe(true);
    }
    expect(await countRows(owner.tenantId)).toBe(before);
  });

  it('refuses more than 5,000 contacts in one call, and takes exactly 5,000', async () => {
    const tenant = actorFor((await server.tenant()).tenantId);
    const many = (n: number) => Array.from({ length: n }, (_, i) => ({ externalId: `bulk-${i}`, name: `Bulk Person ${i}` }));
    const err = await refusal(contacts.import(tenant, many(5001)));
    expect(err.field).toBe('contacts');
    expect(err.message).toMatch(/at most 5000/);
    expect(await countRows(tenant.tenantId)).toBe(0);
    expect(await contacts.import(tenant, many(5000))).toEqual({ inserted: 5000, updated: 0 });
    expect(await contacts.import(tenant, many(5000))).toEqual({ inserted: 0, updated: 5000 });
    expect(await countRows(tenant.tenantId)).toBe(5000);
  });

  it('accepts an empty import as a no-op', async () => {
    expect(await contacts.import(owner, [])).toEqual({ inserted: 0, updated: 0 });
  });
});

describe('reading contacts', () => {
  it('lists newest first with keyset pages, gets one, and finds many in order', async () => {
    const tenant = actorFor((await server.tenant()).tenantId);
    for (const n of [1, 2, 3, 4, 5]) await contacts.import(tenant, [{ name: `Reader ${n}` }]);
    const first = await contacts.list(tenant.tenantId, { first: 2 });
    expect(first.nodes.map((c) => c.name)).toEqual(['Reader 5', 'Reader 4']);
    expect(first.hasNextPage).toBe(true);
    const rest = await contacts.list(tenant.tenantId, { first: 10, after: first.endCursor });
    expect(rest.nodes.map((c) => c.name)).toEqual(['Reader 3', 'Reader 2', 'Reader 1']);
    expect(rest.hasNextPage).toBe(false);
    await expect(contacts.list(tenant.tenantId, { after: 'garbage' })).rejects.toBeInstanceOf(InputError);
    await expect(contacts.list(tenant.tenantId, { first: 0 })).rejects.toBeInstanceOf(InputError);

    const [c3, c1] = [rest.nodes[0]!, rest.nodes[2]!];
    expect((await contacts.get(tenant.tenantId, c3.id.toUpperCase())).name).toBe('Reader 3');
    await expect(contacts.get(tenant.tenantId, randomUUID())).rejects.toBeInstanceOf(NotFoundError);
    await expect(contacts.get(tenant.tenantId, 'not-a-uuid')).rejects.toBeInstanceOf(NotFoundError);
    const found = await contacts.findMany(tenant.tenantId, [c1.id, 'junk', randomUUID(), c3.id]);
    expect(found.map((c) => c?.name ?? null)).toEqual(['Reader 1', null, null, 'Reader 3']);
  });

  it('pages through contacts imported together (one created_at) without losing any', async () => {
    const tenant = actorFor((await server.tenant()).tenantId);
    await contacts.import(tenant, Array.from({ length: 7 }, (_, i) => ({ name: `Batch ${i}` })));
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = await contacts.list(tenant.tenantId, { first: 2, after });
      seen.push(...page.nodes.map((c) => c.name!));
      after = page.hasNextPage ? page.endCursor : null;
    } while (after);
    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `Batch ${i}`));
  });
});

describe('proposing merges', () => {
  let tenant: Actor;
  let ids: string[];

  beforeAll(async () => {
    tenant = actorFor((await server.tenant()).tenantId);
    await contacts.import(tenant, [
      { externalId: 'p1', name: 'Grace Hopper', email: 'grace@navy.mil' },
      { externalId: 'p2', name: 'Grace B. Hopper', email: 'GRACE@navy.mil' },
      { externalId: 'p3', name: 'Alan Turing' },
    ]);
    const page = await contacts.list(tenant.tenantId, {});
    const byExt = new Map(page.nodes.map((c) => [c.externalId, c.id]));
    ids = ['p1', 'p2', 'p3'].map((e) => byExt.get(e)!);
  });

  it('is idempotent per pair in either order: one row, the first proposal wins', async () => {
    const [x, y] = [ids[0]!, ids[1]!];
    const runId = randomUUID();
    const first = await contacts.proposeMerge(tenant.tenantId, { contactA: y, contactB: x, reason: 'Same email.', confidence: 0.9276, runId });
    expect(first.created).toBe(true);
    const [lo, hi] = x < y ? [x, y] : [y, x];
    expect(first.proposal).toMatchObject({ contactA: lo, contactB: hi, reason: 'Same email.', confidence: 0.928, status: 'proposed', runId });

    const again = await contacts.proposeMerge(tenant.tenantId, { contactA: x, contactB: y.toUpperCase(), reason: 'Other words.', confidence: 0.5 });
    expect(again.created).toBe(false);
    expect(again.proposal).toMatchObject({ id: first.proposal.id, reason: 'Same email.', confidence: 0.928, runId });

    // Concurrent proposals of one pair still make one row.
    const racing = await Promise.all(
      [0, 1, 2, 3].map((i) => contacts.proposeMerge(tenant.tenantId, { contactA: i % 2 ? ids[2]! : x, contactB: i % 2 ? x : ids[2]!, reason: `race ${i}`, confidence: 0.4 })),
    );
    expect(racing.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(racing.map((r) => r.proposal.id)).size).toBe(1);
    const rows = await adminQuery(server.db, 'select count(*)::int as n from merge_proposals where tenant_id = $1', [tenant.tenantId]);
    expect(rows[0].n).toBe(2);

    const page = await contacts.proposals(tenant.tenantId, { first: 1 });
    expect(page.nodes[0]!.id).toBe(racing[0]!.proposal.id);
    const next = await contacts.proposals(tenant.tenantId, { after: page.endCursor });
    expect(next.nodes.map((p) => p.id)).toEqual([first.proposal.id]);
    expect((await contacts.findProposals(tenant.tenantId, [first.proposal.id, 'x']))[0]!.id).toBe(first.proposal.id);
  });

  it('refuses the same contact twice, unknown contacts and bad values', async () => {
    const [x, y] = [ids[0]!, ids[2]!];
    const ok = { contactA: x, contactB: y, reason: 'r', confidence: 0.5 };
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, contactB: x.toUpperCase() }))).field).toBe('contactB');
    await expect(contacts.proposeMerge(tenant.tenantId, { ...ok, contactB: randomUUID() })).rejects.toBeInstanceOf(NotFoundError);
    await expect(contacts.proposeMerge(tenant.tenantId, { ...ok, contactA: 'nope' })).rejects.toBeInstanceOf(NotFoundError);
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, confidence: 1.01 }))).field).toBe('confidence');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, confidence: -0.1 }))).field).toBe('confidence');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, confidence: Number.NaN }))).field).toBe('confidence');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, confidence: '0.5' as never }))).field).toBe('confidence');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, reason: '  ' }))).field).toBe('reason');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, reason: 'r'.repeat(2001) }))).field).toBe('reason');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, runId: 'run-1' }))).field).toBe('runId');
    expect((await refusal(contacts.proposeMerge(tenant.tenantId, { ...ok, extra: 1 } as never))).field).toBe('extra');
    const rows = await adminQuery(server.db, 'select count(*)::int as n from merge_proposals where tenant_id = $1', [tenant.tenantId]);
    expect(rows[0].n).toBe(2);
  });

  it('keeps tenants apart: another tenant sees nothing and cannot propose on these ids', async () => {
    expect((await contacts.list(other.tenantId, {})).nodes).toEqual([]);
    expect((await contacts.proposals(other.tenantId, {})).nodes).toEqual([]);
    expect(await contacts.findMany(other.tenantId, ids)).toEqual([null, null, null]);
    await expect(contacts.get(other.tenantId, ids[0]!)).rejects.toBeInstanceOf(NotFoundError);
    expect((await contacts.duplicateCandidates(other.tenantId, { minScore: 0 })).candidates).toEqual([]);
    await expect(
      contacts.proposeMerge(other.tenantId, { contactA: ids[0]!, contactB: ids[2]!, reason: 'cross-tenant', confidence: 1 }),
    ).rejects.toBeInstanceOf(NotFoundError);

    // One of the other tenant's own contacts with one of ours: still not found.
    await contacts.import(other, [{ externalId: 'p1', name: 'Grace Hopper', email: 'grace@navy.mil' }]);
    const [mine] = (await contacts.list(other.tenantId, {})).nodes;
    await expect(
      contacts.proposeMerge(other.tenantId, { contactA: mine!.id, contactB: ids[0]!, reason: 'cross-tenant', confidence: 1 }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // The same externalId in another tenant is another contact, and ours is untouched.
    expect((await contacts.get(tenant.tenantId, ids[0]!)).name).toBe('Grace Hopper');
    expect(mine!.id).not.toBe(ids[0]);
    const rows = await adminQuery(server.db, 'select count(*)::int as n from merge_proposals where tenant_id = $1', [other.tenantId]);
    expect(rows[0].n).toBe(0);
  });
});
