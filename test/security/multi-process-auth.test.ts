import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';

// Two API processes (two apps, each with its own pool, cache and Redis connections) on one
// database: an account change made through one is seen by the other as soon as the bus
// delivers it, long before the cache would expire on its own.
let a: TestServer;
let b: TestServer;
let ownerToken: string;

beforeAll(async () => {
  a = await startTestServer({ redis: true, env: { RUNLANE_AUTH_CACHE_MS: '60000' } });
  b = await startTestServer({ redis: true, db: a.db, env: { RUNLANE_AUTH_CACHE_MS: '60000' } });
  ownerToken = (await a.tenant()).token;
});
afterAll(async () => {
  await b?.close();
  await a?.close();
});

async function status(server: TestServer, token: string): Promise<number> {
  return (await fetch(`${server.url}/agents/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
}

async function until(check: () => Promise<boolean>, ms = 2_000): Promise<number> {
  const began = Date.now();
  while (!(await check())) {
    if (Date.now() - began > ms) throw new Error('not within time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - began;
}

async function createAccount(name: string) {
  const { body } = await gql(
    a.url,
    ownerToken,
    `mutation($name: String!) { createAccount(input: { name: $name, scopes: ["auth:read"] }) { ... on AccountWithToken { token account { id } } } }`,
    { name },
  );
  return { token: body.data.createAccount.token as string, id: body.data.createAccount.account.id as string };
}

describe('token changes across API processes', () => {
  it('a rotation on one process kills the old token on the other within moments', async () => {
    const account = await createAccount('Cross Rotate');
    expect(await status(b, account.token)).toBe(200); // now cached on b for a minute
    await gql(a.url, ownerToken, `mutation($id: ID!) { rotateAccountToken(id: $id) { __typename } }`, { id: account.id });
    expect(await status(a, account.token)).toBe(401);
    const took = await until(async () => (await status(b, account.token)) === 401);
    expect(took).toBeLessThan(2_000);
  });

  it('a pause on the second process is seen by the first', async () => {
    const account = await createAccount('Cross Pause');
    expect(await status(a, account.token)).toBe(200);
    await gql(b.url, ownerToken, `mutation($id: ID!) { pauseAccount(id: $id) { __typename } }`, { id: account.id });
    expect(await status(b, account.token)).toBe(401);
    await until(async () => (await status(a, account.token)) === 401);
  });

  it('reports the Redis bus in health', async () => {
    const body = await (await fetch(`${a.url}/agents/v1/health`, { headers: { authorization: `Bearer ${ownerToken}` } })).json();
    expect(body.systemComponents.bus).toMatchObject({ ok: true, kind: 'redis' });
  });
});
