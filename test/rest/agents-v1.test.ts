import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
let readOnly: string;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  const { body } = await gql(
    server.url,
    owner.token,
    `mutation { createAccount(input: { name: "Bootstrap Worker", scopes: ["health:read", "readiness:read", "auth:read"] }) { ... on AccountWithToken { token } } }`,
  );
  readOnly = body.data.createAccount.token;
});
afterAll(() => server?.close());

function get(path: string, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, { headers });
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('/agents/v1 with a read-only account', () => {
  it('health: status, service, version, environment, time and components', async () => {
    const res = await get('/agents/v1/health', bearer(readOnly));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store, private');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const body = await res.json();
    expect(body).toMatchObject({
      status: 'ok',
      service: 'runlane',
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      environment: 'test',
      systemComponents: { database: { ok: true }, bus: { ok: true, kind: 'in-process' } },
    });
    expect(Date.now() - Date.parse(body.generatedAt)).toBeLessThan(5_000);
  });

  it('readiness: health plus a score and what lowers it', async () => {
    const body = await (await get('/agents/v1/readiness', bearer(readOnly))).json();
    expect(body).toMatchObject({ status: 'ok', service: 'runlane', readinessThreshold: 50, ready: true });
    expect(body.readinessScore).toBe(100);
    expect(body.deductions).toEqual([]);
    expect(body.warnings.join(' ')).toMatch(/single-process/);
  });

  it('whoami: principal, granted and available scopes', async () => {
    const res = await get('/agents/v1/auth/whoami', { 'x-runlane-token': readOnly, 'x-request-id': 'trace-123' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('trace-123');
    const body = await res.json();
    expect(body).toMatchObject({
      service: 'runlane',
      requestId: 'trace-123',
      principal: {
        name: 'Bootstrap Worker',
        tenant: { id: owner.tenantId, slug: owner.slug },
        credentialSource: 'account',
        authMethod: 'x-runlane-token',
        tokenFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{16}$/),
      },
      authorization: { grantedScopes: ['auth:read', 'health:read', 'readiness:read'] },
    });
    expect(body.authorization.availableScopes).toContain('worker:execute');
    expect(JSON.stringify(body)).not.toContain(readOnly);
  });
});

describe('authentication and scope failures', () => {
  it('401 without a token, with the error JSON of the design', async () => {
    const res = await get('/agents/v1/health');
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toEqual({ error: 'UNAUTHORIZED', message: 'Missing or invalid token.', status: 401, requestId: res.headers.get('x-request-id') });
  });

  it('401 for an unknown, malformed or non-bearer token', async () => {
    const unknown = readOnly.slice(0, -6) + 'AAAAAA';
    for (const headers of [bearer('rlt_nope'), bearer(unknown), { authorization: `Basic ${readOnly}` }, { authorization: 'Bearer' }, { 'x-runlane-token': 'x'.repeat(5000) }]) {
      const res = await get('/agents/v1/auth/whoami', headers);
      expect(res.status).toBe(401);
      expect((await res.json()).error).toBe('UNAUTHORIZED');
    }
  });

  it('403 naming the scope when the account lacks it', async () => {
    const { body } = await gql(
      server.url,
      owner.token,
      `mutation { createAccount(input: { name: "Health Only", scopes: ["health:read"] }) { ... on AccountWithToken { token } } }`,
    );
    const res = await get('/agents/v1/auth/whoami', bearer(body.data.createAccount.token));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'FORBIDDEN', status: 403, requiredScope: 'auth:read', message: expect.stringContaining('auth:read') });
    expect((await get('/agents/v1/readiness', bearer(body.data.createAccount.token))).status).toBe(403);
    expect((await get('/agents/v1/health', bearer(body.data.createAccount.token))).status).toBe(200);
  });

  it('unknown paths get 404 and wrong methods 405, as JSON', async () => {
    const missing = await get('/agents/v1/nothing-here', bearer(readOnly));
    expect(missing.status).toBe(404);
    expect((await missing.json()).error).toBe('NOT_FOUND');
    const wrong = await fetch(`${server.url}/agents/v1/health`, { method: 'DELETE', headers: bearer(readOnly) });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
    expect((await wrong.json()).error).toBe('METHOD_NOT_ALLOWED');
  });

  it('keeps serving after garbage requests', async () => {
    const garbage = await fetch(`${server.url}/agents/v1/health`, {
      method: 'POST',
      headers: { ...bearer(readOnly), 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(garbage.status).toBe(405);
    expect((await get('/healthz')).status).toBe(200);
  });
});

describe('load balancer endpoints', () => {
  it('/healthz answers without authentication', async () => {
    const res = await get('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz reports readiness without authentication', async () => {
    const res = await get('/readyz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ready: true, score: 100 });
  });
});
