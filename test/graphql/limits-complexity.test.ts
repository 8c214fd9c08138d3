import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';

let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({ env: { RUNLANE_GRAPHQL_MAX_COMPLEXITY: '20' } });
  token = (await server.tenant()).token;
});
afterAll(() => server?.close());

describe('GraphQL complexity limit (RUNLANE_GRAPHQL_MAX_COMPLEXITY=20)', () => {
  it('allows a cheap query (control)', async () => {
    const { status, body } = await gql(server.url, token, '{ viewer { accountName tenant { slug name } } accounts(first: 1) { pageInfo { hasNextPage } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.accountName).toBe('Owner');
    expect(body.data.accounts.pageInfo).toEqual({ hasNextPage: false });
  });

  it('refuses a list selection over the limit with QUERY_TOO_COMPLEX and no data', async () => {
    // node (1) + id + name = 3; edges is a list (x10) + 1 = 31; accounts + 1 = 32 > 20.
    const { status, body } = await gql(server.url, token, '{ accounts(first: 200) { edges { node { id name } } } }');
    expect(status).toBe(200);
    expect(body.data).toBeNull();
    expect(body.errors).toHaveLength(1);
    expect(body.errors![0]).toMatchObject({
      path: ['accounts'],
      extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'complexity' },
    });
    expect(body.errors![0]!.message).toMatch(/^Query complexity \d+ exceeds the limit of 20\.$/);
  });

  it('counts the whole operation, not each root field alone', async () => {
    // Each half costs 12 (edges { cursor } = 11, + 1); together 24 > 20.
    const half = 'accounts(first: 1) { edges { cursor } }';
    const one = await gql(server.url, token, `{ ${half} }`);
    expect(one.body.errors).toBeUndefined();
    const both = await gql(server.url, token, `{ a: ${half} b: ${half} }`);
    expect(both.body.data).toBeNull();
    expect(both.body.errors?.map((e) => e.extensions?.code)).toContain('QUERY_TOO_COMPLEX');
  });
});
