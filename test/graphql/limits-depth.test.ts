import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, startTestServer, type TestServer } from '../support/app';

// The schema is at most 4 levels deep, so the default limit (12) cannot be reached: lower it to 3.
let server: TestServer;
let token: string;

beforeAll(async () => {
  server = await startTestServer({ env: { RUNLANE_GRAPHQL_MAX_DEPTH: '3' } });
  token = (await server.tenant()).token;
});
afterAll(() => server?.close());

const TOO_DEEP = '{ accounts(first: 1) { edges { node { name } } } }'; // depth 4
const TOO_DEEP_VIA_FRAGMENTS = `
  query { accounts(first: 1) { ...Edges } }
  fragment Edges on AccountConnection { edges { ...Node } }
  fragment Node on AccountEdge { node { name } }`;

function expectTooDeep(body: { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] }) {
  expect(body.data).toBeNull();
  expect(body.errors).toHaveLength(1);
  expect(body.errors![0]).toMatchObject({
    path: ['accounts'],
    extensions: { code: 'QUERY_TOO_COMPLEX', limit: 'depth' },
  });
  expect(body.errors![0]!.message).toBe('Query depth 4 exceeds the limit of 3.');
}

describe('GraphQL depth limit (RUNLANE_GRAPHQL_MAX_DEPTH=3)', () => {
  it('allows a query at the limit (control)', async () => {
    const { status, body } = await gql(server.url, token, '{ viewer { tenant { slug } } }');
    expect(status).toBe(200);
    expect(body.errors).toBeUndefined();
    expect(body.data.viewer.tenant.slug).toEqual(expect.any(String));
  });

  it('refuses a deeper query with QUERY_TOO_COMPLEX and no data', async () => {
    const { status, body } = await gql(server.url, token, TOO_DEEP);
    expect(status).toBe(200);
    expectTooDeep(body);
  });

  it('counts depth through fragment spreads', async () => {
    const { body } = await gql(server.url, token, TOO_DEEP_VIA_FRAGMENTS);
    expectTooDeep(body);
  });

  it('applies the same limit over the WebSocket', async () => {
    const client = createClient({
      url: `ws://127.0.0.1:${server.port}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
    });
    try {
      const result = await new Promise<any>((resolve, reject) => {
        let last: unknown;
        client.subscribe({ query: TOO_DEEP }, { next: (v) => (last = v), error: reject, complete: () => resolve(last) });
      });
      expectTooDeep(result);
    } finally {
      await client.dispose();
    }
  });
});
