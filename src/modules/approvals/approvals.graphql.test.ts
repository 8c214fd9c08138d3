import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { pausedToolCall } from '../../../test/support/approvals';
import { SCOPES } from '../accounts/scopes';
import type { Approval } from './approval';

// The GraphQL door of approvals, without workers: a decided run stays queued.
type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
let server: TestServer;
let owner: Tenant;
let other: Tenant;

const ownerActor = (t: Tenant) => ({ tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) });

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  other = await server.tenant();
  for (const t of [owner, other]) await server.app.services.agentConfigs.put(ownerActor(t), 'custom', {});
});
afterAll(async () => {
  await server?.close();
});

const FIELDS = `id uuid stepSeq tool input reason ruleIndex onReject status expiresAt costSoFarUsdCents
  decidedInput decisionNote decidedBy decidedAt createdAt run { uuid status }`;
const DECIDE = `mutation($id: ID!, $decision: ApprovalDecision!, $input: JSON, $note: String) {
  decideApproval(id: $id, decision: $decision, input: $input, note: $note) {
    __typename ... on Approval { ${FIELDS} } ... on Error { code message } ... on InputError { field } } }`;

const decide = (id: string, decision: string, extra: { input?: unknown; note?: unknown } = {}, token = owner.token) =>
  gql(server.url, token, DECIDE, { id, decision, ...extra });

async function tokenWith(scopes: string[]) {
  return (await server.app.services.accounts.create(ownerActor(owner), { name: `acct-${Math.random().toString(36).slice(2)}`, scopes })).token;
}

async function state(a: Approval) {
  const [approval] = await adminQuery(server.db, `select * from approvals where id = $1`, [a.id]);
  const [run] = await adminQuery(server.db, `select status from agent_runs where id = $1`, [a.runId]);
  const events = await adminQuery(server.db, `select type, detail from agent_events where run_id = $1 order by seq`, [a.runId]);
  return { approval, run: run.status, events };
}

describe('approvals and approval', () => {
  it('pages through a status, and reads one by uuid, global id or node(id); another tenant sees nothing', async () => {
    const tenant = await server.tenant();
    await server.app.services.agentConfigs.put(ownerActor(tenant), 'custom', {});
    const made: Approval[] = [];
    for (let i = 0; i < 3; i++) made.push(await pausedToolCall(server, tenant.tenantId, { tool: `tool.${i}` }));
    expect((await decide(made[0]!.id, 'REJECT', {}, tenant.token)).body.data.decideApproval.status).toBe('REJECTED');

    const PAGE = `query($after: String) { approvals(status: PENDING, first: 1, after: $after) {
      edges { node { uuid status } } pageInfo { hasNextPage endCursor } } }`;
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await gql(server.url, tenant.token, PAGE, { after })).body.data.approvals;
      seen.push(...page.edges.map((e: any) => e.node.uuid));
      expect(page.edges.every((e: any) => e.node.status === 'PENDING')).toBe(true);
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual([made[1]!.id, made[2]!.id].sort());
    const expired = await gql(server.url, tenant.token, `{ approvals(status: EXPIRED) { edges { node { uuid } } } }`);
    expect(expired.body.data.approvals.edges).toEqual([]);

    const a = made[1]!;
    const ONE = `query($id: ID!) { approval(id: $id) { ${FIELDS} } node(id: $id) { __typename ... on Approval { uuid } } }`;
    const byUuid = (await gql(server.url, tenant.token, ONE, { id: a.id })).body.data;
    expect(byUuid.approval).toEqual({
      id: encodeGlobalID('Approval', a.id),
      uuid: a.id,
      stepSeq: 2,
      tool: 'tool.1',
      input: { to: 'ops@example.com', subject: 'Report' },
      reason: '"email.send" needs approval',
      ruleIndex: 0,
      onReject: 'FAIL',
      status: 'PENDING',
      expiresAt: null,
      costSoFarUsdCents: 1.25,
      decidedInput: null,
      decisionNote: null,
      decidedBy: null,
      decidedAt: null,
      createdAt: a.createdAt.toISOString(),
      run: { uuid: a.runId, status: 'WAITING' },
    });
    expect(byUuid.node).toEqual({ __typename: 'Approval', uuid: a.id });
    const byGlobalId = (await gql(server.url, tenant.token, ONE, { id: byUuid.approval.id })).body.data;
    expect(byGlobalId.approval.uuid).toBe(a.id);

    const theirs = await gql(server.url, other.token, `query($id: ID!) { approval(id: $id) { uuid } node(id: $id) { id } approvals { edges { node { uuid } } } }`, {
      id: a.id,
    });
    expect(theirs.body.data).toEqual({ approval: null, node: null, approvals: { edges: [] } });
    expect((await gql(server.url, tenant.token, `{ approval(id: "garbage") { uuid } }`)).body.data).toEqual({ approval: null });
  });
});

describe('decideApproval', () => {
  it('approves with edited input: the run is queued again and the decision is on the approval and the run', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const edited = { to: 'ops@example.com', subject: 'Reviewed' };
    const result = (await decide(encodeGlobalID('Approval', a.id), 'APPROVE', { input: edited, note: 'Subject fixed.' })).body.data.decideApproval;
    expect(result).toMatchObject({
      __typename: 'Approval',
      uuid: a.id,
      status: 'APPROVED',
      input: { to: 'ops@example.com', subject: 'Report' },
      decidedInput: edited,
      decisionNote: 'Subject fixed.',
      run: { uuid: a.runId, status: 'QUEUED' },
    });
    expect(result.decidedBy).toEqual(expect.any(String));
    expect(Date.parse(result.decidedAt)).not.toBeNaN();
    const after = await state(a);
    expect(after.approval).toMatchObject({ decided_input: edited, decided_by_account_id: owner.accountId, decided_by: result.decidedBy });
    expect(after.events.at(-1)).toEqual({ type: 'approval_decided', detail: { approvalId: a.id, decision: 'approve', decidedBy: result.decidedBy } });
    const events = await gql(server.url, owner.token, `query($id: ID!) { run(id: $id) { status events { type } } }`, { id: a.runId });
    expect(events.body.data.run.events.at(-1)).toEqual({ type: 'approval_decided' });
  });

  it('rejects with a note; a second decision is a ConflictError and changes nothing', async () => {
    const a = await pausedToolCall(server, owner.tenantId, { onReject: 'inform_model' });
    const rejected = (await decide(a.id, 'REJECT', { note: 'Wrong recipient.' })).body.data.decideApproval;
    expect(rejected).toMatchObject({ __typename: 'Approval', status: 'REJECTED', onReject: 'INFORM_MODEL', decisionNote: 'Wrong recipient.', decidedInput: null });
    const before = await state(a);
    expect((await decide(a.id, 'APPROVE')).body.data.decideApproval).toEqual({
      __typename: 'ConflictError',
      code: 'CONFLICT',
      message: 'The approval is already rejected.',
    });
    expect(await state(a)).toEqual(before);
  });

  it('answers NotFoundError for another tenant’s approval and for ids that name no approval', async () => {
    const theirs = await pausedToolCall(server, other.tenantId);
    const before = await state(theirs);
    for (const id of [theirs.id, encodeGlobalID('Approval', theirs.id), encodeGlobalID('Run', theirs.id), 'not-an-id']) {
      expect((await decide(id, 'APPROVE')).body.data.decideApproval, id).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND', message: 'Approval not found' });
    }
    expect(await state(theirs)).toEqual(before);
    expect(before.approval.status).toBe('pending');
  });

  it('answers InputError for a bad input or note, and refuses an unknown decision; nothing changes', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const before = await state(a);
    const cases: [string, { input?: unknown; note?: unknown }, string][] = [
      ['APPROVE', { input: ['not', 'an', 'object'] }, 'input'],
      ['APPROVE', { input: 'text' }, 'input'],
      ['REJECT', { input: { to: 'x' } }, 'input'],
      ['APPROVE', { note: 'n'.repeat(2001) }, 'note'],
    ];
    for (const [decision, extra, field] of cases) {
      expect((await decide(a.id, decision, extra)).body.data.decideApproval, JSON.stringify(extra).slice(0, 60)).toMatchObject({
        __typename: 'InputError',
        code: 'INVALID_REQUEST',
        field,
      });
    }
    const maybe = await decide(a.id, 'MAYBE');
    expect(maybe.body.data).toBeUndefined();
    expect(maybe.body.errors?.[0]?.message).toMatch(/ApprovalDecision/);
    expect(await state(a)).toEqual(before);
  });
});

describe('scopes', () => {
  it('deciding needs approvals:write; reading needs runs:read; a decider sees what it decided', async () => {
    const a = await pausedToolCall(server, owner.tenantId);
    const before = await state(a);
    const reader = await tokenWith(['runs:read']);
    const denied = await decide(a.id, 'APPROVE', {}, reader);
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'approvals:write' });
    expect(await state(a)).toEqual(before);
    expect((await gql(server.url, reader, `{ approvals { edges { node { uuid } } } }`)).body.errors).toBeUndefined();

    const decider = await tokenWith(['approvals:write']);
    const list = await gql(server.url, decider, `{ approvals { edges { node { uuid } } } }`);
    expect(list.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'runs:read' });
    const one = await gql(server.url, decider, `query($id: ID!) { approval(id: $id) { uuid } }`, { id: a.id });
    expect(one.body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const decided = await gql(server.url, decider, `mutation($id: ID!) { decideApproval(id: $id, decision: APPROVE) { __typename ... on Approval { uuid status } } }`, {
      id: a.id,
    });
    expect(decided.body).toEqual({ data: { decideApproval: { __typename: 'Approval', uuid: a.id, status: 'APPROVED' } } });
  });
});
