import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { SCOPES } from '../accounts/scopes';

// The GraphQL door of runs, without workers: runs stay queued, which is all these need.
let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
let other: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  other = await server.tenant();
  for (const t of [owner, other]) {
    await server.app.services.agentConfigs.put({ tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) }, 'custom', { budgetDefaultCents: 50 });
  }
});
afterAll(async () => {
  await server?.close();
});

const ENQUEUE = `mutation($b: String!, $i: EnqueueRunInput) { enqueueRun(blueprint: $b, input: $i) {
  __typename ... on Run { id uuid status blueprint budgetUsdCents deadlineSeconds input idempotencyKey } ... on Error { code message } ... on InputError { field } } }`;

async function tokenWith(scopes: string[]) {
  const actor = { tenantId: owner.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
  return (await server.app.services.accounts.create(actor, { name: `acct-${scopes.join('-')}-${Math.random()}`, scopes })).token;
}

describe('enqueueRun, runs, run, cancelRun', () => {
  it('enqueues with the config’s defaults and the caller’s overrides', async () => {
    const { body } = await gql(server.url, owner.token, ENQUEUE, { b: 'custom', i: { input: { prompt: 'x' }, deadlineSeconds: 30, idempotencyKey: 'k1' } });
    expect(body.data.enqueueRun).toMatchObject({ __typename: 'Run', status: 'QUEUED', blueprint: 'custom', budgetUsdCents: 50, deadlineSeconds: 30, input: { prompt: 'x' }, idempotencyKey: 'k1' });
    const again = await gql(server.url, owner.token, ENQUEUE, { b: 'custom', i: { idempotencyKey: 'k1' } });
    expect(again.body.data.enqueueRun.uuid).toBe(body.data.enqueueRun.uuid);
  });

  it('answers typed errors: unknown blueprint, missing config, bad input', async () => {
    const unknown = await gql(server.url, owner.token, ENQUEUE, { b: 'nope' });
    expect(unknown.body.data.enqueueRun).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const noConfig = await gql(server.url, owner.token, ENQUEUE, { b: 'contact_deduper' });
    expect(noConfig.body.data.enqueueRun).toMatchObject({ __typename: 'NotFoundError', message: 'Agent config not found' });
    const bad = await gql(server.url, owner.token, ENQUEUE, { b: 'custom', i: { deadlineSeconds: 0 } });
    expect(bad.body.data.enqueueRun).toMatchObject({ __typename: 'InputError', code: 'INVALID_REQUEST', field: 'deadlineSeconds' });
    const huge = await gql(server.url, owner.token, ENQUEUE, { b: 'custom', i: { input: { blob: 'x'.repeat(300_000) } } });
    expect(huge.body.data.enqueueRun).toMatchObject({ __typename: 'InputError', field: 'input' });
  });

  it('lists newest first with blueprint and status filters; another tenant sees nothing', async () => {
    const created = [];
    for (let i = 0; i < 3; i++) created.push((await gql(server.url, owner.token, ENQUEUE, { b: 'custom' })).body.data.enqueueRun.uuid);
    const page = await gql(server.url, owner.token, `{ runs(first: 2, blueprint: "custom", status: QUEUED) { edges { node { uuid } } pageInfo { hasNextPage } } }`);
    expect(page.body.data.runs.edges.map((e: any) => e.node.uuid)).toEqual([created[2], created[1]]);
    expect(page.body.data.runs.pageInfo.hasNextPage).toBe(true);
    const theirs = await gql(server.url, other.token, `query($id: ID!) { run(id: $id) { uuid } runs(first: 10) { edges { node { uuid } } } }`, { id: created[0] });
    expect(theirs.body.data).toEqual({ run: null, runs: { edges: [] } });
  });

  it('cancels a queued run; cancelling again is a ConflictError; another tenant’s run is NotFound', async () => {
    const { uuid, id } = (await gql(server.url, owner.token, ENQUEUE, { b: 'custom' })).body.data.enqueueRun;
    const CANCEL = `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on Run { status failureCategory events { type } } ... on Error { code } } }`;
    expect((await gql(server.url, other.token, CANCEL, { id })).body.data.cancelRun).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const cancelled = (await gql(server.url, owner.token, CANCEL, { id: uuid })).body.data.cancelRun;
    expect(cancelled).toMatchObject({ __typename: 'Run', status: 'CANCELLED', failureCategory: 'CANCELLED', events: [{ type: 'queued' }, { type: 'cancelled' }] });
    expect((await gql(server.url, owner.token, CANCEL, { id })).body.data.cancelRun).toEqual({ __typename: 'ConflictError', code: 'CONFLICT' });
  });
});

describe('scopes', () => {
  it('runs:read may read, not enqueue or cancel; billing needs billing:read', async () => {
    const reader = await tokenWith(['runs:read']);
    expect((await gql(server.url, reader, `{ runs(first: 1) { edges { node { uuid } } } }`)).body.errors).toBeUndefined();
    const denied = await gql(server.url, reader, ENQUEUE, { b: 'custom' });
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'runs:write' });
    const billing = await gql(server.url, reader, `{ billingDaily(from: "2026-11-01", to: "2026-11-30") { day } }`);
    expect(billing.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'billing:read' });
    const none = await tokenWith(['auth:read']);
    expect((await gql(server.url, none, `{ runs(first: 1) { edges { node { uuid } } } }`)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('billingDaily refuses a reversed or year-plus range', async () => {
    const reversed = await gql(server.url, owner.token, `{ billingDaily(from: "2026-11-30", to: "2026-11-01") { day } }`);
    expect(reversed.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const long = await gql(server.url, owner.token, `{ billingDaily(from: "2024-01-01", to: "2026-11-01") { day } }`);
    expect(long.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});
