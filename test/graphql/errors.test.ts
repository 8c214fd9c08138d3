import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
let authReadToken: string;
let accountsToken: string;

const CREATE = `mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    __typename
    ... on AccountWithToken { token account { id name scopes } }
    ... on Error { code message }
    ... on InputError { field }
  }
}`;

async function createAccount(token: string, name: string, scopes: string[]) {
  const { status, body } = await gql(server.url, token, CREATE, { input: { name, scopes } });
  expect(status).toBe(200);
  expect(body.errors).toBeUndefined();
  return body.data.createAccount;
}

/** POSTs a raw body with chosen headers; returns status, content type and parsed body. */
async function post(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as any };
}

async function stillServing() {
  const { status, body } = await gql(server.url, owner.token, '{ viewer { accountName } }');
  expect(status).toBe(200);
  expect(body).toEqual({ data: { viewer: { accountName: 'Owner' } } });
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  const authRead = await createAccount(owner.token, 'auth-read-only', ['auth:read']);
  expect(authRead.__typename).toBe('AccountWithToken');
  authReadToken = authRead.token;
  const accounts = await createAccount(owner.token, 'accounts-admin', ['accounts:read', 'accounts:write']);
  expect(accounts.__typename).toBe('AccountWithToken');
  accountsToken = accounts.token;
});
afterAll(() => server?.close());

describe('authentication errors', () => {
  it.each([
    ['accounts', '{ accounts { edges { node { id } } } }'],
    ['viewer', '{ viewer { accountName } }'],
  ])('no token: %s is UNAUTHENTICATED with HTTP 200 and data null', async (field, query) => {
    const { status, body } = await gql(server.url, null, query);
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({ path: [field], extensions: { code: 'UNAUTHENTICATED' } });
  });

  it('still answers { __typename } without a token', async () => {
    const { status, body } = await gql(server.url, null, '{ __typename }');
    expect(status).toBe(200);
    expect(body).toEqual({ data: { __typename: 'Query' } });
  });

  it.each([
    ['a garbage bearer token', { authorization: 'Bearer rlt_garbage' }],
    ['a well-formed but unknown token', { authorization: `Bearer rlt_${'A'.repeat(49)}` }],
    ['a Basic Authorization header', { authorization: 'Basic xyz' }],
    ['a bare Authorization header', { authorization: 'Bearer' }],
    ['a garbage X-Runlane-Token', { 'x-runlane-token': 'not-a-token' }],
  ])('%s is UNAUTHENTICATED and the server keeps serving', async (_label, headers) => {
    const { status, body } = await post({ query: '{ viewer { accountName } }' }, headers);
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    await stillServing();
  });

  it('a malformed Authorization header is not rescued by a valid X-Runlane-Token', async () => {
    const { body } = await post(
      { query: '{ viewer { accountName } }' },
      { authorization: 'Basic xyz', 'x-runlane-token': owner.token },
    );
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe('authorization errors', () => {
  it('a token without accounts:read is FORBIDDEN on accounts, naming the scope', async () => {
    const { status, body } = await gql(server.url, authReadToken, '{ accounts { edges { node { id } } } }');
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({
      path: ['accounts'],
      extensions: { code: 'FORBIDDEN', requiredScope: 'accounts:read' },
    });
    // The same token is authenticated: viewer works.
    const viewer = await gql(server.url, authReadToken, '{ viewer { accountName scopes } }');
    expect(viewer.body).toEqual({ data: { viewer: { accountName: 'auth-read-only', scopes: ['auth:read'] } } });
  });

  it('a token without accounts:write is FORBIDDEN on createAccount, naming the scope', async () => {
    const { status, body } = await gql(server.url, authReadToken, CREATE, {
      input: { name: 'should-not-exist', scopes: ['auth:read'] },
    });
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors?.[0]).toMatchObject({
      path: ['createAccount'],
      extensions: { code: 'FORBIDDEN', requiredScope: 'accounts:write' },
    });
    const list = await gql(server.url, owner.token, '{ accounts(first: 200) { edges { node { name } } } }');
    expect(list.body.data.accounts.edges.map((e: any) => e.node.name)).not.toContain('should-not-exist');
  });
});

describe('request errors (GraphQL over HTTP)', () => {
  it('a syntax error is HTTP 400 for application/graphql-response+json, with a message and no data', async () => {
    const { status, contentType, body } = await post(
      { query: '{ viewer { ' },
      { accept: 'application/graphql-response+json', authorization: `Bearer ${owner.token}` },
    );
    expect(status).toBe(400);
    expect(contentType).toContain('application/graphql-response+json');
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toMatch(/Syntax Error/);
    expect(body.errors[0].locations).toEqual([{ line: 1, column: 12 }]);
  });

  it('a syntax error for a legacy application/json client is a GraphQL error without data', async () => {
    const { status, contentType, body } = await post({ query: '{ viewer { ' }, { accept: 'application/json' });
    // The spec allows 200 or 4xx for application/json; either way: errors, no data.
    expect([200, 400]).toContain(status);
    expect(contentType).toContain('application/json');
    expect(body.data).toBeUndefined();
    expect(body.errors?.[0]?.message).toMatch(/Syntax Error/);
  });

  it('an unknown field is a validation error (HTTP 400 with graphql-response+json)', async () => {
    const { status, body } = await post(
      { query: '{ viewer { accountName } nope }' },
      { accept: 'application/graphql-response+json', authorization: `Bearer ${owner.token}` },
    );
    expect(status).toBe(400);
    expect(body.data).toBeUndefined();
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].message).toMatch(/Cannot query field "nope" on type "Query"/);
    expect(body.errors[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a missing required argument and a wrongly typed variable are refused before execution', async () => {
    const missing = await gql(server.url, owner.token, '{ node { id } }');
    expect(missing.body.data).toBeUndefined();
    expect(missing.body.errors?.[0]?.message).toMatch(/argument "id"/);

    const wrongVariable = await gql(server.url, owner.token, 'query($n: Int) { accounts(first: $n) { edges { cursor } } }', {
      n: 'many',
    });
    expect(wrongVariable.body.data).toBeUndefined();
    expect(wrongVariable.body.errors?.[0]?.message).toMatch(/\$n/);
  });
});

describe('typed mutation errors', () => {
  it('an unknown scope is an InputError union member on field "scopes"', async () => {
    const { status, body } = await gql(
      server.url,
      owner.token,
      `mutation($input: CreateAccountInput!) {
        createAccount(input: $input) { __typename ... on InputError { code field message } }
      }`,
      { input: { name: 'unknown-scope', scopes: ['auth:read', 'nope:read'] } },
    );
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.createAccount).toEqual({
      __typename: 'InputError',
      code: 'INVALID_REQUEST',
      field: 'scopes',
      message: expect.stringContaining('nope:read'),
    });
  });

  it('granting a scope the caller does not hold is an InputError, and nothing is created', async () => {
    const result = await createAccount(accountsToken, 'escalation-attempt', ['accounts:read', 'runs:write']);
    expect(result).toEqual({
      __typename: 'InputError',
      code: 'INVALID_REQUEST',
      field: 'scopes',
      message: expect.stringContaining('runs:write'),
    });
    // The scopes the caller does hold can be granted.
    const allowed = await createAccount(accountsToken, 'delegated-reader', ['accounts:read']);
    expect(allowed.__typename).toBe('AccountWithToken');
    expect(allowed.account.scopes).toEqual(['accounts:read']);

    const list = await gql(server.url, owner.token, '{ accounts(first: 200) { edges { node { name } } } }');
    const names = list.body.data.accounts.edges.map((e: any) => e.node.name);
    expect(names).toContain('delegated-reader');
    expect(names).not.toContain('escalation-attempt');
  });

  it('a garbage id in an account mutation is a NotFoundError union member', async () => {
    const { body } = await gql(
      server.url,
      owner.token,
      'mutation { revokeAccount(id: "garbage") { __typename ... on Error { code } } }',
    );
    expect(body.errors).toBeUndefined();
    expect(body.data.revokeAccount).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });
});

describe('internal errors', () => {
  it('are masked: a string the database rejects gives no SQL, driver detail or secret to the caller', async () => {
    // PostgreSQL refuses NUL characters in text; nothing in the API maps that failure.
    const { status, body } = await gql(server.url, owner.token, CREATE, {
      input: { name: 'nul\u0000byte', scopes: ['auth:read'] },
    });
    expect(status).toBe(200);
    const text = JSON.stringify(body);
    expect(text).not.toMatch(/insert into|accounts"|token_hash|DriverException|pg-protocol|invalid message format|\bat .*\.js:\d+/i);
    if (body.errors) {
      // Unmapped: masked as a generic internal error.
      expect(body.data).toBeNull();
      expect(body.errors).toEqual([
        expect.objectContaining({
          message: 'Unexpected error.',
          path: ['createAccount'],
          extensions: { code: 'INTERNAL_SERVER_ERROR' },
        }),
      ]);
    } else {
      // Or refused as bad input, which is just as acceptable.
      expect(body.data.createAccount).toMatchObject({ __typename: 'InputError', code: 'INVALID_REQUEST' });
    }
    await stillServing();
  });
});

describe('node(id:)', () => {
  const NODE = 'query($id: ID!) { node(id: $id) { __typename ... on Account { name } } }';

  it('resolves a real global id (control)', async () => {
    const created = await createAccount(owner.token, 'node-target', ['auth:read']);
    const { body } = await gql(server.url, owner.token, NODE, { id: created.account.id });
    expect(body).toEqual({ data: { node: { __typename: 'Account', name: 'node-target' } } });
  });

  it.each([
    ['garbage', 'garbage'],
    ['a plain UUID', '00000000-0000-0000-0000-000000000000'],
    ['a well-formed global id of no account', Buffer.from('Account:00000000-0000-0000-0000-000000000000').toString('base64')],
    ['a global id of an unknown type', Buffer.from('Nope:1').toString('base64')],
  ])('%s gives node null, and any error is NOT_FOUND', async (_label, id) => {
    const { status, body } = await gql(server.url, owner.token, NODE, { id });
    expect(status).toBe(200);
    expect(body.data).toEqual({ node: null });
    for (const error of body.errors ?? []) {
      expect(error, `unexpected error for node(id: ${JSON.stringify(id)})`).toMatchObject({
        path: ['node'],
        extensions: { code: 'NOT_FOUND' },
      });
    }
    await stillServing();
  });

  it('without a token is UNAUTHENTICATED whatever the id, so ids cannot be probed anonymously', async () => {
    for (const id of ['garbage', Buffer.from('Account:00000000-0000-0000-0000-000000000000').toString('base64')]) {
      const { body } = await gql(server.url, null, NODE, { id });
      expect(body.data).toEqual({ node: null });
      expect(body.errors?.[0]?.extensions?.code, `node(id: ${JSON.stringify(id)}) without a token`).toBe('UNAUTHENTICATED');
    }
  });
});
