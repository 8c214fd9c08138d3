import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type Client, type ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, startTestServer, type TestServer } from '../support/app';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
const clients: Client[] = [];

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
  await server?.close();
});

const wsUrl = (path = '/graphql') => `ws://127.0.0.1:${server.port}${path}`;

function client(options: Partial<ClientOptions> = {}): Client {
  const c = createClient({
    url: wsUrl(),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    // Failures are asserted through the closed event; keep the default console.error quiet.
    onNonLazyError: () => {},
    ...options,
  });
  clients.push(c);
  return c;
}

/** Runs one operation over the socket and resolves with its single result (or rejects with the close event). */
function execute<T = any>(c: Client, query: string): Promise<{ data?: T; errors?: readonly { message: string }[] }> {
  return new Promise((resolve, reject) => {
    let result: any;
    c.subscribe(
      { query },
      {
        next: (value) => (result = value),
        error: reject,
        complete: () => resolve(result),
      },
    );
  });
}

/**
 * Connects eagerly and resolves with the code the socket was closed with. Resolves with null if
 * the server acknowledged the connection instead (then the test fails on the code).
 */
function closeCode(connectionParams?: ClientOptions['connectionParams']): Promise<number | null> {
  return new Promise((resolve) => {
    const c = client({
      lazy: false,
      connectionParams,
      on: {
        connected: () => resolve(null),
        closed: (event) => resolve((event as { code: number }).code),
      },
    });
    // The close also reaches a pending operation: it must reject, never yield data.
    execute(c, '{ viewer { accountName } }').then(
      (r) => resolve(r.data ? null : -1),
      () => {},
    );
  });
}

const VIEWER = '{ viewer { accountName authMethod tenant { slug } } }';

describe('GraphQL over WebSocket (graphql-ws)', () => {
  it('authenticates connection_init with "Bearer <token>" and answers queries as the owner', async () => {
    let connected = false;
    const c = client({
      lazy: false,
      connectionParams: { authorization: `Bearer ${owner.token}` },
      on: { connected: () => (connected = true) },
    });
    const result = await execute(c, VIEWER);
    expect(connected).toBe(true);
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      viewer: { accountName: 'Owner', authMethod: 'WEBSOCKET', tenant: { slug: owner.slug } },
    });
    await c.dispose();
  });

  it('accepts the bare token without the Bearer prefix', async () => {
    const c = client({ connectionParams: { authorization: owner.token } });
    const result = await execute(c, VIEWER);
    expect(result.errors).toBeUndefined();
    expect(result.data?.viewer).toMatchObject({ accountName: 'Owner', tenant: { slug: owner.slug } });
    await c.dispose();
  });

  it('closes with 4403 for a wrong token', async () => {
    expect(await closeCode({ authorization: `Bearer rlt_${'x'.repeat(49)}` })).toBe(4403);
    expect(await closeCode({ authorization: 'rlt_garbage!!' })).toBe(4403);
  });

  it('closes with 4403 without connectionParams or without an authorization entry', async () => {
    expect(await closeCode(undefined)).toBe(4403);
    expect(await closeCode({})).toBe(4403);
    expect(await closeCode({ authorization: 42 })).toBe(4403);
  });

  it('closes with 4403 for the token of a revoked account', async () => {
    const created = await gql(
      server.url,
      owner.token,
      `mutation($input: CreateAccountInput!) {
        createAccount(input: $input) { __typename ... on AccountWithToken { token account { id } } ... on Error { code message } }
      }`,
      { input: { name: `ws-revoked-${Date.now()}`, scopes: ['auth:read'] } },
    );
    expect(created.body.errors).toBeUndefined();
    const { token, account } = created.body.data.createAccount;
    expect(token).toMatch(/^rlt_/);

    // Before the revocation the token works over the socket (so the 4403 below is about revocation).
    const before = client({ connectionParams: { authorization: `Bearer ${token}` } });
    expect((await execute(before, '{ viewer { accountName } }')).data?.viewer.accountName).toMatch(/^ws-revoked-/);
    await before.dispose();

    const revoked = await gql(
      server.url,
      owner.token,
      `mutation($id: ID!) { revokeAccount(id: $id) { __typename ... on Account { status } ... on Error { code } } }`,
      { id: account.id },
    );
    expect(revoked.body.data.revokeAccount).toEqual({ __typename: 'Account', status: 'REVOKED' });

    expect(await closeCode({ authorization: `Bearer ${token}` })).toBe(4403);
    expect(await closeCode({ authorization: token })).toBe(4403);
  });

  it('refuses upgrades on other paths and keeps serving HTTP', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const socket = new WebSocket(wsUrl('/nope'), 'graphql-transport-ws');
      socket.on('open', () => {
        socket.close();
        resolve('open');
      });
      socket.on('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      socket.on('error', (err) => resolve(`error: ${err.message}`));
    });
    expect(outcome).toMatch(/^error: /);

    const { status, body } = await gql(server.url, owner.token, '{ viewer { accountName } }');
    expect(status).toBe(200);
    expect(body.data).toEqual({ viewer: { accountName: 'Owner' } });

    // And the WebSocket door still works too.
    const c = client({ connectionParams: { authorization: `Bearer ${owner.token}` } });
    expect((await execute(c, VIEWER)).data?.viewer.accountName).toBe('Owner');
    await c.dispose();
  });
});
