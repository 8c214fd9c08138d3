import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { AccountsDocument, CreateAccountDocument, RotateAccountTokenDocument } from '../../../test/documents/generated';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
});
afterAll(() => server?.close());

const CREATE = print(CreateAccountDocument);
const ROTATE = print(RotateAccountTokenDocument);

async function create(input: Record<string, unknown>, token = owner.token) {
  const { body } = await gql(server.url, token, CREATE, { input });
  expect(body.errors).toBeUndefined();
  return body.data.createAccount;
}

async function whoami(token: string, header: 'authorization' | 'x-runlane-token' = 'authorization') {
  return fetch(`${server.url}/agents/v1/auth/whoami`, {
    headers: header === 'authorization' ? { authorization: `Bearer ${token}` } : { 'x-runlane-token': token },
  });
}

async function mutate(name: string, id: string) {
  const { body } = await gql(
    server.url,
    owner.token,
    `mutation($id: ID!) { ${name}(id: $id) { __typename ... on Account { uuid status pausedAt revokedAt } ... on Error { code message } } }`,
    { id },
  );
  expect(body.errors).toBeUndefined();
  return body.data[name];
}

describe('creating and reading accounts', () => {
  it('creates an account, reveals the token once and never again', async () => {
    const created = await create({
      name: 'Bootstrap Worker',
      description: 'First worker connectivity check',
      owner: 'ops@example.com',
      scopes: ['health:read', 'readiness:read', 'auth:read'],
    });
    expect(created.__typename).toBe('AccountWithToken');
    expect(created.token).toMatch(/^rlt_[0-9A-Za-z]{49}$/);
    expect(created.account).toMatchObject({
      name: 'Bootstrap Worker',
      description: 'First worker connectivity check',
      owner: 'ops@example.com',
      status: 'ACTIVE',
      scopes: ['auth:read', 'health:read', 'readiness:read'],
      tokenHint: `${created.token.slice(0, 12)}…${created.token.slice(-4)}`,
    });

    const list = await gql(server.url, owner.token, print(AccountsDocument), { first: 50 });
    expect(list.body.data.accounts.edges.map((e: any) => e.node.name)).toContain('Bootstrap Worker');
    expect(JSON.stringify(list.body)).not.toContain(created.token);

    const node = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { ... on Account { name } } }`, {
      id: created.account.id,
    });
    expect(node.body.data.node).toEqual({ name: 'Bootstrap Worker' });

    for (const id of [created.account.id, created.account.uuid]) {
      const one = await gql(server.url, owner.token, `query($id: ID!) { account(id: $id) { name } }`, { id });
      expect(one.body.data.account).toEqual({ name: 'Bootstrap Worker' });
    }
    const none = await gql(server.url, owner.token, `{ account(id: "nope") { name } }`);
    expect(none.body).toEqual({ data: { account: null } });
  });

  it('pages through accounts newest first with cursors', async () => {
    for (const n of [1, 2, 3]) await create({ name: `pager-${n}`, scopes: ['auth:read'] });
    const first = await gql(server.url, owner.token, print(AccountsDocument), { first: 2 });
    const page1 = first.body.data.accounts;
    expect(page1.edges.map((e: any) => e.node.name)).toEqual(['pager-3', 'pager-2']);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const second = await gql(server.url, owner.token, print(AccountsDocument), { first: 2, after: page1.pageInfo.endCursor });
    expect(second.body.data.accounts.edges[0].node.name).toBe('pager-1');

    const tooMany = await gql(server.url, owner.token, print(AccountsDocument), { first: 201 });
    expect(tooMany.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const badCursor = await gql(server.url, owner.token, print(AccountsDocument), { first: 2, after: 'garbage' });
    expect(badCursor.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('refuses bad input with a typed error and writes nothing', async () => {
    const before = (await gql(server.url, owner.token, print(AccountsDocument), { first: 200 })).body.data.accounts.edges.length;
    const unknownScope = await create({ name: 'x', scopes: ['root:everything'] });
    expect(unknownScope).toMatchObject({ __typename: 'InputError', code: 'INVALID_REQUEST', field: 'scopes' });
    const emptyName = await create({ name: '   ', scopes: ['auth:read'] });
    expect(emptyName).toMatchObject({ __typename: 'InputError', field: 'name' });
    const longName = await create({ name: 'n'.repeat(500), scopes: ['auth:read'] });
    expect(longName.__typename).toBe('InputError');
    const past = await create({ name: 'expired already', scopes: ['auth:read'], expiresAt: '2001-01-01T00:00:00Z' });
    expect(past).toMatchObject({ __typename: 'InputError', field: 'expiresAt' });
    const badDate = await gql(server.url, owner.token, CREATE, { input: { name: 'x', scopes: [], expiresAt: 'tomorrow' } });
    expect(badDate.body.errors?.[0]?.message).toMatch(/DateTime/);
    const after = (await gql(server.url, owner.token, print(AccountsDocument), { first: 200 })).body.data.accounts.edges.length;
    expect(after).toBe(before);
  });

  it('answers a duplicate name with a conflict', async () => {
    await create({ name: 'Unique Name', scopes: ['auth:read'] });
    const again = await create({ name: 'unique name', scopes: ['auth:read'] });
    expect(again).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT' });
  });

  it('does not let an account grant scopes it does not hold', async () => {
    const admin = await create({ name: 'Limited Admin', scopes: ['accounts:read', 'accounts:write'] });
    const escalate = await create({ name: 'Escalated', scopes: ['runs:write'] }, admin.token);
    expect(escalate).toMatchObject({ __typename: 'InputError', field: 'scopes' });
    expect(escalate.message).toContain('runs:write');
    const allowed = await create({ name: 'Delegated', scopes: ['accounts:read'] }, admin.token);
    expect(allowed.__typename).toBe('AccountWithToken');
  });
});

describe('the account lifecycle', () => {
  it('rotates: the new token works and the old one is dead at once', async () => {
    const created = await create({ name: 'Rotating', scopes: ['auth:read'] });
    expect((await whoami(created.token)).status).toBe(200);
    const { body } = await gql(server.url, owner.token, ROTATE, { id: created.account.id });
    const rotated = body.data.rotateAccountToken;
    expect(rotated.__typename).toBe('AccountWithToken');
    expect(rotated.token).not.toBe(created.token);
    expect((await whoami(created.token)).status).toBe(401);
    expect((await whoami(rotated.token)).status).toBe(200);
  });

  it('pauses and resumes; a paused token gets 401', async () => {
    const created = await create({ name: 'Pausable', scopes: ['auth:read'] });
    expect((await whoami(created.token)).status).toBe(200);
    const paused = await mutate('pauseAccount', created.account.uuid);
    expect(paused).toMatchObject({ __typename: 'Account', status: 'PAUSED' });
    expect(paused.pausedAt).toBeTruthy();
    expect((await whoami(created.token)).status).toBe(401);
    const resumed = await mutate('resumeAccount', created.account.id);
    expect(resumed).toMatchObject({ status: 'ACTIVE', pausedAt: null });
    expect((await whoami(created.token)).status).toBe(200);
  });

  it('revokes for good: resume is a conflict, rotate issues a working token', async () => {
    const created = await create({ name: 'Revocable', scopes: ['auth:read'] });
    await whoami(created.token);
    const revoked = await mutate('revokeAccount', created.account.id);
    expect(revoked.status).toBe('REVOKED');
    expect((await whoami(created.token)).status).toBe(401);
    expect(await mutate('resumeAccount', created.account.id)).toMatchObject({ __typename: 'ConflictError' });
    expect(await mutate('pauseAccount', created.account.id)).toMatchObject({ __typename: 'ConflictError' });
    const { body } = await gql(server.url, owner.token, ROTATE, { id: created.account.id });
    expect(body.data.rotateAccountToken.account.status).toBe('ACTIVE');
    expect((await whoami(body.data.rotateAccountToken.token)).status).toBe(200);
  });

  it('expires: an account past its expiresAt reads EXPIRED and its token gets 401', async () => {
    const soon = new Date(Date.now() + 1500).toISOString();
    const created = await create({ name: 'Short Lived', scopes: ['auth:read'], expiresAt: soon });
    expect((await whoami(created.token)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    expect((await whoami(created.token)).status).toBe(401);
    const { body } = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { ... on Account { status } } }`, {
      id: created.account.id,
    });
    expect(body.data.node.status).toBe('EXPIRED');
  });

  it('updates fields and scopes; a scope removed takes effect at once', async () => {
    const created = await create({ name: 'Editable', scopes: ['auth:read', 'health:read'] });
    expect((await fetch(`${server.url}/agents/v1/health`, { headers: { authorization: `Bearer ${created.token}` } })).status).toBe(200);
    const { body } = await gql(
      server.url,
      owner.token,
      `mutation($id: ID!, $input: UpdateAccountInput!) { updateAccount(id: $id, input: $input) {
        __typename ... on Account { name description owner scopes } ... on Error { code } } }`,
      { id: created.account.id, input: { name: 'Edited', description: 'now described', owner: 'me', scopes: ['auth:read'] } },
    );
    expect(body.data.updateAccount).toEqual({ __typename: 'Account', name: 'Edited', description: 'now described', owner: 'me', scopes: ['auth:read'] });
    const health = await fetch(`${server.url}/agents/v1/health`, { headers: { authorization: `Bearer ${created.token}` } });
    expect(health.status).toBe(403);
  });

  it('deletes: the token dies and the account is gone', async () => {
    const created = await create({ name: 'Deletable', scopes: ['auth:read'] });
    await whoami(created.token);
    const { body } = await gql(server.url, owner.token, `mutation($id: ID!) { deleteAccount(id: $id) { __typename ... on DeletedAccount { id name } } }`, {
      id: created.account.id,
    });
    expect(body.data.deleteAccount).toEqual({ __typename: 'DeletedAccount', id: created.account.uuid, name: 'Deletable' });
    expect((await whoami(created.token)).status).toBe(401);
    expect(await mutate('pauseAccount', created.account.id)).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });

  it('answers NotFound for ids that name no account, whatever their shape', async () => {
    for (const id of ['not-an-id', '00000000-0000-0000-0000-000000000000', Buffer.from('Tenant:abc').toString('base64')]) {
      expect(await mutate('revokeAccount', id)).toMatchObject({ __typename: 'NotFoundError' });
    }
  });
});

describe('usage metadata', () => {
  it('records lastUsedAt, lastUsedIp and the auth method', async () => {
    const created = await create({ name: 'Tracked', scopes: ['auth:read'] });
    expect(created.account.lastUsedAt).toBeNull();
    expect((await whoami(created.token, 'x-runlane-token')).status).toBe(200);
    const { body } = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { ... on Account { lastUsedAt lastUsedIp lastAuthMethod } } }`, {
      id: created.account.id,
    });
    expect(body.data.node.lastAuthMethod).toBe('X_RUNLANE_TOKEN');
    expect(body.data.node.lastUsedIp).toMatch(/127\.0\.0\.1/);
    expect(Date.now() - Date.parse(body.data.node.lastUsedAt)).toBeLessThan(10_000);
  });
});
