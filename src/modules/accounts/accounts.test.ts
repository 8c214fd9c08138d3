import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
});
afterAll(() => server?.close());

const CREATE = `mutation($input: CreateAccountInput!) {
  createAccount(input: $input) {
    __typename
    ... on AccountWithToken { token account { id uuid name scopes status tokenHint owner description } }
    ... on Error { code message }
    ... on InputError { field }
  }
}`;

describe('accounts over GraphQL', () => {
  it('creates an account, reveals the token once, and lists it', async () => {
    const { body } = await gql(server.url, owner.token, CREATE, {
      input: { name: 'Bootstrap Worker', description: 'First worker connectivity check', owner: 'ops@example.com', scopes: ['health:read', 'readiness:read', 'auth:read'] },
    });
    expect(body.errors).toBeUndefined();
    const created = body.data.createAccount;
    expect(created.__typename).toBe('AccountWithToken');
    expect(created.token).toMatch(/^rlt_[0-9A-Za-z]{49}$/);
    expect(created.account.status).toBe('ACTIVE');
    expect(created.account.scopes).toEqual(['auth:read', 'health:read', 'readiness:read']);
    expect(created.account.tokenHint).toBe(`${created.token.slice(0, 12)}…${created.token.slice(-4)}`);

    const list = await gql(server.url, owner.token, `{ accounts(first: 10) { edges { node { uuid name } } } }`);
    const names = list.body.data.accounts.edges.map((e: any) => e.node.name);
    expect(names).toContain('Bootstrap Worker');
    expect(JSON.stringify(list.body)).not.toContain(created.token);
  });
});
