import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { pausedToolCall } from '../../../test/support/approvals';
import { createApprovalExpirer } from '../../app';
import { SCOPES } from '../accounts/scopes';
import { RUN_QUEUE_CHANNEL, runChannel } from '../runs/run-channels';
import type { Approval } from './approval';

// Approvals through the service and the REST door. No worker runs: a decided run stays queued
// for the assertions, the way the next worker would find it.
type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
let server: TestServer;
let owner: Tenant;
let other: Tenant;
/** The owner account's name: decided_by of decisions made with owner.token. */
let ownerName: string;

const ownerActor = (t: Tenant) => ({ tenantId: t.tenantId, accountId: t.accountId, name: 'owner', scopes: new Set<string>(SCOPES) });

beforeAll(async () => {
  server = await startTestServer({ env: { RUNLANE_APPROVAL_EXPIRY_TICK_MS: '50' } });
  owner = await server.tenant();
  other = await server.tenant();
  for (const t of [owner, other]) await server.app.services.agentConfigs.put(ownerActor(t), 'custom', {});
  ownerName = (await adminQuery(server.db, `select name from accounts where id = $1`, [owner.accountId]))[0].name;
});
afterAll(async () => {
  await server?.close();
});

async function rest(method: string, path: string, body?: unknown, token = owner.token) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const decide = (id: string, body: unknown, token = owner.token) => rest('POST', `/api/v1/approvals/${id}/decide`, body, token);

async function tokenWith(scopes: string[]) {
  return (await server.app.services.accounts.create(ownerActor(owner), { name: `acct-${Math.random().toString(36).slice(2)}`, scopes })).token;
}

const approvalRow = async (id: string) => (await adminQuery(server.db, `select * from approvals where id = $1`, [id]))[0];
const runRow = async (id: string) =>
  (await adminQuery(server.db, `select status, run_at, lease_token, now() as now from agent_runs where id = $1`, [id]))[0];
const eventsOf = (runId: string) => adminQuery(server.db, `select seq, type, detail from agent_events where run_id = $1 order by seq`, [runId]);
const auditOf = (approvalId: string) =>
  adminQuery(server.db, `select actor, actor_account_id, action, target_type, detail from audit_events where target_id = $1`, [approvalId]);

/** The list order: created_at, then id, both descending. */
const newestFirst = (approvals: Approval[]) =>
  [...approvals].sort((x, y) => y.createdAt.getTime() - x.createdAt.getTime() || (y.id > x.id ? 1 : -1)).map((a) => a.id);

/** Everything a refused decision must leave as it was. */
async function snapshot(a: Approval) {
  return { approval: await approvalRow(a.id), run: (await runRow(a.runId)).status, events: await eventsOf(a.runId), audit: await auditOf(a.id) };
}

describe('listing and reading', () => {
  it('lists newest first, filtered by status, in keyset pages; another tenant sees none of them', async () => {
    const tenant = await server.tenant();
    await server.app.services.agentConfigs.put(ownerActor(tenant), 'custom', {});
    const made: Approval[] = [];
    for (let i = 0; i < 4; i++) made.push(await pausedToolCall(server, tenant.tenantId, { tool: `tool.${i}` }));
    expect((await decide(made[1]!.id, { decision: 'reject' }, tenant.token)).status).toBe(200);
    const pending = newestFirst([made[0]!, made[2]!, made[3]!]);

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 3; page++) {
      const res = await rest('GET', `/api/v1/approvals?status=pending&limit=1${cursor ? `&cursor=${cursor}` : ''}`, undefined, tenant.token);
      expect(res.status).toBe(200);
      expect(res.body.data).toHaveLength(1);
      seen.push(res.body.data[0].id);
      expect(res.body.has_more).toBe(page < 2);
      cursor = res.body.next_cursor;
      expect(cursor === null).toBe(page === 2);
    }
    expect(seen).toEqual(pending);

    const all = await rest('GET', '/api/v1/approvals?limit=200', undefined, tenant.token);
    expect(all.body.data.map((a: any) => a.id)).toEqual(newestFirst(made));
    const rejected = await rest('GET', '/api/v1/approvals?status=rejected', undefined, tenant.token);
    expect(rejected.body).toEqual({ data: [expect.objectContaining({ id: made[1]!.id, status: 'rejected' })], has_more: false, next_cursor: null });

    // The service answers the same pages.
    const first = await server.app.services.approvals.list(tenant.tenantId, { status: 'pending', first: 2 });
    const second = await server.app.services.approvals.list(tenant.tenantId, { status: 'pending', first: 2, after: first.endCursor });
    expect([...first.nodes, ...second.nodes].map((a) => a.id)).toEqual(pending);
    expect(second.hasNextPage).toBe(false);

    expect((await rest('GET', '/api/v1/approvals?limit=200', undefined, other.token)).body.data.map((a: any) => a.id)).not.toContain(made[0]!.id);
    const bad = await rest('GET', '/api/v1/approvals?status=maybe', undefined, tenant.token);
    expect(bad).toMatchObject({ status: 400, body: { error: 'INVALID_REQUEST', field: 'status' } });
    expect((await rest('GET', '/api/v1/approvals?cursor=garbage', undefined, tenant.token)).status).toBe(400);
    expect((await rest('GET', '/api/v1/approvals?limit=201', undefined, tenant.token)).status).toBe(400);
  });

  it('reads one approval in snake_case; unknown, non-uuid and other tenants’ ids are 404', async () => {
    const expiresAt = new Date(Date.now() + 3_600_000);
    const a = await pausedToolCall(server, owner.tenantId, { onReject: 'inform_model', expiresAt, ruleIndex: 3 });
    const res = await rest('GET', `/api/v1/approvals/${a.id}`);
    expect(res).toEqual({
      status: 200,
      body: {
        id: a.id,
        tenant_id: owner.tenantId,
        run_id: a.runId,
        step_seq: 2,
        tool: 'email.send',
        input: { to: 'ops@example.com', subject: 'Report' },
        reason: '"email.send" needs approval',
        rule_index: 3,
        on_reject: 'inform_model',
        status: 'pending',
        expires_at: expiresAt.toISOString(),
        cost_so_far_usd_cents: 1.25,
        decided_input: null,
        decision_note: null,
        decided_by: null,
        decided_by_account_id: null,
        decided_at: null,
        created_at: a.createdAt.toISOString(),
      },
    });
    await expect(server.app.services.approvals.get(owner.tenantId, a.id)).resolves.toMatchObject({ id: a.id, status: 'pending' });
    for (const [path, token] of [
      [`/api/v1/approvals/${a.id}`, other.token],
      ['/api/v1/approvals/00000000-0000-4000-8000-000000000000', owner.token],
      ['/api/v1/approvals/not-a-uuid', owner.token],
    ] as const) {
      expect(await rest('GET', path, undefined, token)).toMatchObject({ status: 404, body: { error: 'NOT_FOUND', message: 'Approval not found' } });
    }
    await expect(server.app.services.approvals.get(owner.tenantId, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('deciding', () => {
  it('approves: the decider is recorded, the run is queued again with a NOTIFY, an event, an audit row and a bus message', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const listener = new pg.Client({ connectionString: server.db.adminUrl });
    await listener.connect();
    const notified: string[] = [];
    listener.on('notification', (n) => notified.push(n.payload ?? ''));
    await listener.query(`listen ${RUN_QUEUE_CHANNEL}`);
    const published: unknown[] = [];
    const unsubscribe = await server.app.bus.subscribe(runChannel(a.runId), (m) => published.push(m));
    try {
      const before = new Date();
      const res = await decide(a.id, { decision: 'approve' });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: a.id,
        status: 'approved',
        decided_input: null,
        decision_note: null,
        decided_by: ownerName,
        decided_by_account_id: owner.accountId,
      });
      expect(new Date(res.body.decided_at).getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);

      const run = await runRow(a.runId);
      expect(run.status).toBe('queued');
      expect(run.lease_token).toBeNull();
      expect(Math.abs(new Date(run.run_at).getTime() - new Date(run.now).getTime())).toBeLessThan(5_000);
      const events = await eventsOf(a.runId);
      expect(events.at(-1)).toMatchObject({ type: 'approval_decided', detail: { approvalId: a.id, decision: 'approve', decidedBy: ownerName } });
      expect(events.map((e) => Number(e.seq))).toEqual(events.map((_e, i) => i + 1));
      expect(await auditOf(a.id)).toEqual([
        {
          actor: ownerName,
          actor_account_id: owner.accountId,
          action: 'approval.decide',
          target_type: 'approval',
          detail: { runId: a.runId, tool: 'email.send', status: 'approved', editedInput: false },
        },
      ]);
      await expect.poll(() => notified).toContain(a.runId);
      expect(published).toEqual([{ runId: a.runId, status: 'queued', eventSeq: Number(events.at(-1)!.seq) }]);
    } finally {
      await unsubscribe();
      await listener.end();
    }
  });

  it('approves with edited input, which is stored beside the model’s own', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const edited = { to: 'ops@example.com', subject: 'Report (reviewed)', cc: ['lead@example.com'] };
    const res = await decide(a.id, { decision: 'approve', input: edited, note: 'Added the lead.' });
    expect(res).toMatchObject({ status: 200, body: { status: 'approved', decided_input: edited, decision_note: 'Added the lead.' } });
    expect(await approvalRow(a.id)).toMatchObject({ input: { to: 'ops@example.com', subject: 'Report' }, decided_input: edited, decision_note: 'Added the lead.' });
    expect((await auditOf(a.id))[0].detail).toMatchObject({ editedInput: true });
  });

  it('rejects with a note; the run is queued so its worker can follow on_reject', async () => {
    const a = await pausedToolCall(server, owner.tenantId, { onReject: 'inform_model' });
    const res = await decide(a.id, { decision: 'reject', note: 'Not to that list.' });
    expect(res).toMatchObject({ status: 200, body: { status: 'rejected', decision_note: 'Not to that list.', decided_input: null, on_reject: 'inform_model' } });
    expect((await runRow(a.runId)).status).toBe('queued');
    expect((await eventsOf(a.runId)).at(-1)).toMatchObject({ type: 'approval_decided', detail: { decision: 'reject' } });
  });

  it('refuses a second decision with 409, whoever wins a race, and changes nothing', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const both = await Promise.all([decide(a.id, { decision: 'approve' }), decide(a.id, { decision: 'reject' })]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = both.find((r) => r.status === 200)!.body.status;
    const after = await snapshot(a);
    const again = await decide(a.id, { decision: 'approve' });
    expect(again).toMatchObject({ status: 409, body: { error: 'CONFLICT', message: `The approval is already ${winner}.`, status: 409 } });
    expect(await snapshot(a)).toEqual(after);
    expect(after.events.filter((e) => e.type === 'approval_decided')).toHaveLength(1);
    await expect(server.app.services.approvals.decide(ownerActor(owner), a.id, 'reject')).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('answers 404 for another tenant’s approval and leaves it pending', async () => {
    const theirs = await pausedToolCall(server, other.tenantId);
    const before = await snapshot(theirs);
    expect(await decide(theirs.id, { decision: 'approve' })).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } });
    expect(await snapshot(theirs)).toEqual(before);
    expect(before.approval.status).toBe('pending');
  });

  it('needs approvals:write to decide (403 with the scope) and runs:read to read', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const before = await snapshot(a);
    const reader = await tokenWith(['runs:read']);
    expect(await decide(a.id, { decision: 'approve' }, reader)).toMatchObject({
      status: 403,
      body: { error: 'FORBIDDEN', requiredScope: 'approvals:write' },
    });
    expect(await snapshot(a)).toEqual(before);
    const decider = await tokenWith(['approvals:write']);
    expect(await rest('GET', '/api/v1/approvals', undefined, decider)).toMatchObject({ status: 403, body: { requiredScope: 'runs:read' } });
    expect(await rest('GET', `/api/v1/approvals/${a.id}`, undefined, decider)).toMatchObject({ status: 403 });
    expect(await decide(a.id, { decision: 'reject' }, decider)).toMatchObject({ status: 200, body: { status: 'rejected' } });
  });

  it('refuses garbage with 400 (or 404 for an id that cannot exist) and changes nothing', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const before = await snapshot(a);
    const cases: [unknown, string | undefined][] = [
      [{ decision: 'maybe' }, 'decision'],
      [{ decision: 'APPROVE' }, 'decision'],
      [{}, 'decision'],
      [[{ decision: 'approve' }], 'decision'],
      [{ decision: 'approve', input: ['a'] }, 'input'],
      [{ decision: 'approve', input: 'to: everyone' }, 'input'],
      [{ decision: 'approve', input: 42 }, 'input'],
      [{ decision: 'reject', input: { to: 'x' } }, 'input'],
      [{ decision: 'approve', input: { blob: 'x'.repeat(300 * 1024) } }, 'input'],
      [{ decision: 'approve', note: 'n'.repeat(2001) }, 'note'],
      [{ decision: 'approve', note: 7 }, 'note'],
      [{ decision: 'approve', extra: true }, 'extra'],
      [{ decision: 'approve', input: { to: 'a\u0000b' } }, undefined],
      [{ decision: 'approve', note: 'nul \u0000 here' }, undefined],
    ];
    for (const [body, field] of cases) {
      const res = await decide(a.id, body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(res.body.error).toBe('INVALID_REQUEST');
      expect(res.body.field).toBe(field);
    }
    expect((await decide(a.id, 'not json')).status).toBe(400);
    expect(await decide('not-a-uuid', { decision: 'approve' })).toMatchObject({ status: 404, body: { error: 'NOT_FOUND' } });
    expect(await snapshot(a)).toEqual(before);

    // The limit itself is allowed, counted in characters as the table counts them.
    expect((await decide(a.id, { decision: 'approve', note: '😀'.repeat(2000) })).status).toBe(200);
  });

  it('records a decision on a run that was cancelled meanwhile without reviving it', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    await server.app.services.runs.cancel(ownerActor(owner), a.runId);
    expect(await decide(a.id, { decision: 'approve' })).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect((await runRow(a.runId)).status).toBe('cancelled');
    expect((await eventsOf(a.runId)).map((e) => e.type)).toEqual(['queued', 'cancelled', 'approval_decided']);
  });
});

describe('expiry', () => {
  const lapse = (id: string) => adminQuery(server.db, `update approvals set expires_at = now() - interval '1 second' where id = $1`, [id]);

  it('expires a lapsed approval: run queued, status expired by system:expiry, event and audit; decisions after the deadline are 409', async () => {
    const a = await pausedToolCall(server, owner.tenantId, { expiresAt: new Date(Date.now() + 3_600_000) });
    const later = await pausedToolCall(server, owner.tenantId, { expiresAt: new Date(Date.now() + 3_600_000) });
    await lapse(a.id);
    const before = await snapshot(a);
    expect(await decide(a.id, { decision: 'approve' })).toMatchObject({ status: 409, body: { message: 'The approval has expired.' } });
    expect(await snapshot(a)).toEqual(before);
    // Not due: expire() leaves it.
    expect(await server.app.services.approvals.expire(owner.tenantId, later.id)).toBeNull();

    const expirer = createApprovalExpirer(server.app);
    expect(await expirer.tick()).toBeGreaterThanOrEqual(1);
    expect(await approvalRow(a.id)).toMatchObject({ status: 'expired', decided_by: 'system:expiry', decided_by_account_id: null, decided_input: null });
    expect((await approvalRow(a.id)).decided_at).not.toBeNull();
    expect((await runRow(a.runId)).status).toBe('queued');
    expect((await eventsOf(a.runId)).at(-1)).toMatchObject({ type: 'approval_expired', detail: { approvalId: a.id, decidedBy: 'system:expiry' } });
    expect(await auditOf(a.id)).toEqual([
      expect.objectContaining({ actor: 'system:expiry', actor_account_id: null, action: 'approval.expire', detail: expect.objectContaining({ status: 'expired' }) }),
    ]);
    expect(await decide(a.id, { decision: 'approve' })).toMatchObject({ status: 409, body: { message: 'The approval is already expired.' } });
    expect(await expirer.tick()).toBe(0);
    expect((await approvalRow(later.id)).status).toBe('pending');
    expect((await runRow(later.runId)).status).toBe('waiting');
  });

  it('runs in the background on its configured tick and stops', async () => {
    const a = await pausedToolCall(server, other.tenantId, { expiresAt: new Date(Date.now() - 1000) });
    const expirer = createApprovalExpirer(server.app);
    expect(server.app.config.approvals.expiryTickMs).toBe(50);
    expirer.start();
    try {
      await expect.poll(async () => (await approvalRow(a.id)).status, { timeout: 5_000 }).toBe('expired');
    } finally {
      await expirer.stop();
    }
    expect((await runRow(a.runId)).status).toBe('queued');
  });
});
