import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { startFakeMcpServer } from '../../../test/fakes/mcp-server';
import type { McpTool } from '../../platform/mcp/mcp-client';
import { SCOPES } from '../accounts/scopes';

// Apps through both doors against MCP servers built with the official SDK. The outbound guard
// is relaxed (http, loopback) so the fakes can live on 127.0.0.1; the guard's own refusals are
// tested with it on, at the bottom and in src/platform/outbound.
type Fake = Awaited<ReturnType<typeof startFakeMcpServer>>;
const TOKEN = 'sk-live-secret-token-0000XY';
const tools = (...names: string[]): McpTool[] =>
  names.map((name) => ({ name, description: `${name} tool`, inputSchema: { type: 'object', properties: { q: { type: 'string' } } } }));

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
let other: Awaited<ReturnType<TestServer['tenant']>>;
let bearerServer: Fake;
const fakes: Fake[] = [];

async function fake(options: Parameters<typeof startFakeMcpServer>[0]): Promise<Fake> {
  const f = await startFakeMcpServer(options);
  fakes.push(f);
  return f;
}

beforeAll(async () => {
  server = await startTestServer({
    env: { RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1', RUNLANE_APP_PROBE_TIMEOUT_MS: '2000' },
  });
  owner = await server.tenant();
  other = await server.tenant();
  bearerServer = await fake({ stateful: true, json: true, auth: { type: 'bearer', token: TOKEN }, tools: tools('search', 'fetch') });
});
afterAll(async () => {
  await server?.close();
  await Promise.all(fakes.map((f) => f.close()));
});

function rest(method: string, path: string, body?: unknown, token = owner.token) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function register(slug: string, url: string, auth: unknown = { type: 'none' }, token = owner.token) {
  const res = await rest('POST', '/api/v1/apps', { slug, display_name: `App ${slug}`, mcp_server_url: url, auth }, token);
  return { status: res.status, body: await res.json() };
}

describe('registering an app', () => {
  it('answers 201 with the app and the probe; the secret is encrypted and shown only as a hint', async () => {
    const { status, body } = await register('search-tools', bearerServer.url, { type: 'bearer', token: TOKEN });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      slug: 'search-tools',
      display_name: 'App search-tools',
      mcp_server_url: bearerServer.url,
      auth_type: 'bearer',
      auth_hint: 'sk-live-***XY',
      status: 'active',
      failure_streak: 0,
      enabled_tools: [],
      probe: { ok: true, error: null, tools: [{ name: 'search' }, { name: 'fetch' }] },
    });
    expect(body.probe.latency_ms).toEqual(expect.any(Number));
    expect(body.discovered_tools.map((t: { name: string; stale: boolean }) => [t.name, t.stale])).toEqual([
      ['search', false],
      ['fetch', false],
    ]);
    expect(JSON.stringify(body)).not.toContain(TOKEN);
    expect(bearerServer.authFailures).toBe(0);
    const [row] = await adminQuery(server.db, `select auth_ciphertext from apps where slug = 'search-tools'`);
    expect(Buffer.from(row.auth_ciphertext).toString('latin1')).not.toContain(TOKEN);
  });

  it('answers 201 and an unhealthy app when the probe fails, with the error in the body', async () => {
    const wrongAuth = await register('wrong-auth', bearerServer.url, { type: 'bearer', token: 'sk-live-not-the-right-one-AB' });
    expect(wrongAuth.status).toBe(201);
    expect(wrongAuth.body).toMatchObject({ status: 'unhealthy', failure_streak: 1, probe: { ok: false, reason: 'unauthorized' } });
    expect(wrongAuth.body.probe.error).not.toContain('not-the-right-one');

    const closed = await fake({ stateful: false, json: true, tools: [] });
    await closed.close();
    const down = await register('down', closed.url);
    expect(down.status).toBe(201);
    expect(down.body).toMatchObject({ status: 'unhealthy', probe: { ok: false, reason: 'unreachable', tools: [] } });
  });

  it('refuses bad input with 400 and a field, and a duplicate slug with 409; nothing is stored', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ slug: 'Upper', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'none' } }, /slug/],
      [{ slug: 'ok-slug', display_name: '', mcp_server_url: bearerServer.url, auth: { type: 'none' } }, /displayName/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url }, /auth/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'basic' } }, /auth\.type/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'bearer', token: 'a\r\nX-Evil: 1' } }, /line breaks/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'header', name: 'Host', value: 'v' } }, /auth\.name/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'header', name: 'bad name', value: 'v' } }, /auth\.name/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: 'not a url', auth: { type: 'none' } }, /mcpServerUrl/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'none' }, metadata: [1] }, /metadata/],
      [{ slug: 'ok-slug', display_name: 'x', mcp_server_url: bearerServer.url, auth: { type: 'none' }, metadata: { big: 'x'.repeat(20_000) } }, /metadata/],
    ];
    for (const [body, field] of cases) {
      const res = await rest('POST', '/api/v1/apps', body);
      const json = await res.json();
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      expect(json.error).toBe('INVALID_REQUEST');
      expect(`${json.field ?? ''} ${json.message}`).toMatch(field);
    }
    const dup = await register('search-tools', bearerServer.url);
    expect(dup.status).toBe(409);
    expect(dup.body.message).toMatch(/slug already exists/);
    const list = await (await rest('GET', '/api/v1/apps?limit=200')).json();
    expect(list.data.map((a: { slug: string }) => a.slug)).not.toContain('ok-slug');
  });

  it('registers through GraphQL with header auth; the server receives exactly that header', async () => {
    const headerServer = await fake({ stateful: false, json: false, auth: { type: 'header', name: 'X-API-Key', value: 'hdr-value-123456789' }, tools: tools('one') });
    const { body } = await gql(
      server.url,
      owner.token,
      `mutation($input: RegisterAppInput!) { registerApp(input: $input) {
        __typename ... on RegisterAppPayload { app { slug status authType authHeaderName authHint discoveredTools { name enabled stale } } probe { ok tools { name } error latencyMs } }
        ... on Error { code message } } }`,
      {
        input: {
          slug: 'header-app',
          displayName: 'Header app',
          mcpServerUrl: headerServer.url,
          auth: { type: 'HEADER', name: 'X-API-Key', value: 'hdr-value-123456789' },
          metadata: { team: 'ops' },
        },
      },
    );
    expect(body.data.registerApp).toMatchObject({
      __typename: 'RegisterAppPayload',
      app: { slug: 'header-app', status: 'ACTIVE', authType: 'HEADER', authHeaderName: 'X-API-Key', authHint: 'hdr-***89', discoveredTools: [{ name: 'one', enabled: false, stale: false }] },
      probe: { ok: true, tools: [{ name: 'one' }], error: null },
    });
    expect(headerServer.authFailures).toBe(0);
    expect(headerServer.requests.some((r: { headers: Record<string, string | undefined> }) => r.headers['x-api-key'] === 'hdr-value-123456789')).toBe(true);
  });
});

describe('reading, updating, rotating, probing and deleting', () => {
  it('lists in the {data, has_more, next_cursor} envelope and pages with limit/cursor', async () => {
    const first = await (await rest('GET', '/api/v1/apps?limit=1')).json();
    expect(first).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    expect(first.data).toHaveLength(1);
    const second = await (await rest('GET', `/api/v1/apps?limit=1&cursor=${first.next_cursor}`)).json();
    expect(second.data[0].slug).not.toBe(first.data[0].slug);
    expect((await rest('GET', '/api/v1/apps?limit=0')).status).toBe(400);
    expect((await rest('GET', '/api/v1/apps?cursor=garbage')).status).toBe(400);
    const { body } = await gql(server.url, owner.token, `{ apps(first: 50) { edges { node { slug uuid } } } app(slug: "search-tools") { slug authHint } missing: app(slug: "nope") { slug } }`);
    expect(body.data.app).toEqual({ slug: 'search-tools', authHint: 'sk-live-***XY' });
    expect(body.data.missing).toBeNull();
    expect(body.data.apps.edges.length).toBeGreaterThanOrEqual(3);
  });

  it('enables advertised tools; unknown tools and immutable fields are input errors', async () => {
    const ok = await rest('PATCH', '/api/v1/apps/search-tools', { enabled_tools: ['search'], display_name: 'Search', description: 'web search' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ enabled_tools: ['search'], display_name: 'Search', description: 'web search' });
    const unknown = await rest('PATCH', '/api/v1/apps/search-tools', { enabled_tools: ['nope'] });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).message).toMatch(/"nope" is not in the app's discovered tools/);
    for (const field of ['slug', 'mcp_server_url']) {
      const res = await rest('PATCH', '/api/v1/apps/search-tools', { [field]: 'x' });
      expect(res.status).toBe(400);
      expect((await res.json()).message).toMatch(/immutable/);
    }
    expect((await rest('PATCH', '/api/v1/apps/search-tools', { status: 'unhealthy' })).status).toBe(400);
    expect((await rest('PATCH', '/api/v1/apps/search-tools', { colour: 'red' })).status).toBe(400);
    expect((await rest('PATCH', '/api/v1/apps/nope', { display_name: 'x' })).status).toBe(404);
  });

  it('keeps enabled tools across probes, starts new tools disabled and marks removed ones stale', async () => {
    const changing = await fake({ stateful: true, json: false, tools: tools('a', 'b', 'c') });
    await register('changing', changing.url);
    await rest('PATCH', '/api/v1/apps/changing', { enabled_tools: ['a', 'b'] });
    changing.setTools(tools('a', 'c', 'd'));
    const probe = await rest('POST', '/api/v1/apps/changing/probe');
    expect(probe.status).toBe(200);
    expect((await probe.json()).tools.map((t: { name: string }) => t.name)).toEqual(['a', 'c', 'd']);
    const app = await (await rest('GET', '/api/v1/apps/changing')).json();
    expect(app.enabled_tools).toEqual(['a']);
    expect(Object.fromEntries(app.discovered_tools.map((t: { name: string; stale: boolean }) => [t.name, t.stale]))).toEqual({ a: false, b: true, c: false, d: false });
    const stale = await rest('PATCH', '/api/v1/apps/changing', { enabled_tools: ['a', 'b'] });
    expect(stale.status).toBe(400);
    expect((await stale.json()).message).toMatch(/"b" is no longer advertised/);
  });

  it('rotates auth without probing; the next probe uses the new secret', async () => {
    const rotating = await fake({ stateful: false, json: true, auth: { type: 'bearer', token: 'sk-new-token-abcdefgh12' }, tools: tools('x') });
    const first = await register('rotating', rotating.url, { type: 'bearer', token: 'sk-old-token-abcdefgh34' });
    expect(first.body.probe.ok).toBe(false);
    const before = rotating.requests.length;
    const rotated = await rest('POST', '/api/v1/apps/rotating/auth/rotate', { auth: { type: 'bearer', token: 'sk-new-token-abcdefgh12' } });
    expect(rotated.status).toBe(200);
    expect(await rotated.json()).toMatchObject({ auth_hint: 'sk-new-***12', status: 'unhealthy' });
    expect(rotating.requests.length).toBe(before);
    const probe = await (await rest('POST', '/api/v1/apps/rotating/probe')).json();
    expect(probe).toMatchObject({ ok: true, tools: [{ name: 'x' }] });
    expect(await (await rest('GET', '/api/v1/apps/rotating')).json()).toMatchObject({ status: 'active', failure_streak: 0 });
    const bad = await rest('POST', '/api/v1/apps/rotating/auth/rotate', { auth: { type: 'header', name: 'X-Key' } });
    expect(bad.status).toBe(400);
  });

  it('turns unhealthy at 5 consecutive failures, resets on the first success, and never probes a disabled app', async () => {
    const flaky = await fake({ stateful: false, json: true, auth: { type: 'bearer', token: 'sk-flaky-token-00000001' }, tools: tools('x') });
    await register('flaky', flaky.url, { type: 'bearer', token: 'sk-flaky-token-00000001' });
    await rest('POST', '/api/v1/apps/flaky/auth/rotate', { type: 'bearer', token: 'sk-wrong-token-0000002' });
    const statuses: [string, number][] = [];
    for (let i = 0; i < 5; i++) {
      const probe = await rest('POST', '/api/v1/apps/flaky/probe');
      expect(probe.status).toBe(200);
      const app = await (await rest('GET', '/api/v1/apps/flaky')).json();
      statuses.push([app.status, app.failure_streak]);
    }
    expect(statuses).toEqual([
      ['active', 1],
      ['active', 2],
      ['active', 3],
      ['active', 4],
      ['unhealthy', 5],
    ]);
    await rest('POST', '/api/v1/apps/flaky/auth/rotate', { type: 'bearer', token: 'sk-flaky-token-00000001' });
    await rest('POST', '/api/v1/apps/flaky/probe');
    expect(await (await rest('GET', '/api/v1/apps/flaky')).json()).toMatchObject({ status: 'active', failure_streak: 0 });

    expect((await rest('PATCH', '/api/v1/apps/flaky', { status: 'disabled' })).status).toBe(200);
    const before = flaky.requests.length;
    const skipped = await (await rest('POST', '/api/v1/apps/flaky/probe')).json();
    expect(skipped).toMatchObject({ ok: false, reason: 'disabled' });
    expect(flaky.requests.length).toBe(before);
    expect(await (await rest('GET', '/api/v1/apps/flaky')).json()).toMatchObject({ status: 'disabled' });
  });

  it('probeApp through GraphQL answers the outcome; an unknown slug is NOT_FOUND', async () => {
    const { body } = await gql(server.url, owner.token, `mutation { probeApp(slug: "search-tools") { ok tools { name inputSchema } error reason latencyMs } }`);
    expect(body.data.probeApp).toMatchObject({ ok: true, error: null, reason: null, tools: [{ name: 'search' }, { name: 'fetch' }] });
    const missing = await gql(server.url, owner.token, `mutation { probeApp(slug: "nope") { ok } }`);
    expect(missing.body.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('hard-deletes: the app is gone and its slug can be registered again', async () => {
    const temp = await register('temp-app', bearerServer.url, { type: 'bearer', token: TOKEN });
    expect(temp.status).toBe(201);
    const del = await rest('DELETE', '/api/v1/apps/temp-app');
    expect(del.status).toBe(200);
    expect((await rest('GET', '/api/v1/apps/temp-app')).status).toBe(404);
    const [count] = await adminQuery(server.db, `select count(*)::int as n from apps where slug = 'temp-app'`);
    expect(count.n).toBe(0);
    const { body } = await gql(server.url, owner.token, `mutation { deleteApp(slug: "temp-app") { __typename ... on Error { code } } }`);
    expect(body.data.deleteApp).toEqual({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect((await register('temp-app', bearerServer.url, { type: 'bearer', token: TOKEN })).status).toBe(201);
  });
});

describe('tenancy, scopes and the audit log', () => {
  it('another tenant sees none of these apps and cannot touch them (404)', async () => {
    const list = await (await rest('GET', '/api/v1/apps', undefined, other.token)).json();
    expect(list.data).toEqual([]);
    for (const [method, path, body] of [
      ['GET', '/api/v1/apps/search-tools'],
      ['PATCH', '/api/v1/apps/search-tools', { display_name: 'mine' }],
      ['POST', '/api/v1/apps/search-tools/probe'],
      ['POST', '/api/v1/apps/search-tools/auth/rotate', { auth: { type: 'none' } }],
      ['DELETE', '/api/v1/apps/search-tools'],
    ] as const) {
      expect((await rest(method, path, body, other.token)).status, `${method} ${path}`).toBe(404);
    }
    // The other tenant may use the same slug: slugs are unique per tenant.
    expect((await register('search-tools', bearerServer.url, { type: 'bearer', token: TOKEN }, other.token)).status).toBe(201);
  });

  it('node(id) finds an app by global id or UUID for its tenant only', async () => {
    const { body } = await gql(server.url, owner.token, `{ app(slug: "search-tools") { id uuid } }`);
    const { id, uuid } = body.data.app;
    for (const ref of [id, uuid]) {
      const mine = await gql(server.url, owner.token, `query($id: ID!) { node(id: $id) { __typename ... on App { slug } } }`, { id: ref });
      expect(mine.body.data.node).toEqual({ __typename: 'App', slug: 'search-tools' });
    }
    const theirs = await gql(server.url, other.token, `query($id: ID!) { node(id: $id) { id } }`, { id });
    expect(theirs.body.data.node).toBeNull();
  });

  it('agents:read may list and read; writing needs agents:write (403 / FORBIDDEN)', async () => {
    const actor = { tenantId: owner.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
    const { token } = await server.app.services.accounts.create(actor, { name: 'apps-reader', scopes: ['agents:read'] });
    expect((await rest('GET', '/api/v1/apps', undefined, token)).status).toBe(200);
    const denied = await rest('POST', '/api/v1/apps/search-tools/probe', undefined, token);
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ error: 'FORBIDDEN', requiredScope: 'agents:write' });
    const gqlDenied = await gql(server.url, token, `mutation { deleteApp(slug: "search-tools") { __typename } }`);
    expect(gqlDenied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'agents:write' });
    const { token: none } = await server.app.services.accounts.create(actor, { name: 'no-agents', scopes: ['auth:read'] });
    expect((await rest('GET', '/api/v1/apps', undefined, none)).status).toBe(403);
  });

  it('audits every operation, with hints but never secrets', async () => {
    const rows = await adminQuery<{ action: string }>(
      server.db,
      `select action, actor, target_id, detail::text as detail from audit_events where tenant_id = $1 and target_type = 'app' order by created_at`,
      [owner.tenantId],
    );
    const actions = new Set(rows.map((r) => r.action));
    expect([...actions].sort()).toEqual(['app.delete', 'app.probe', 'app.register', 'app.rotate_auth', 'app.update']);
    const all = JSON.stringify(rows);
    for (const secret of [TOKEN, 'hdr-value-123456789', 'sk-new-token-abcdefgh12', 'sk-flaky-token-00000001']) expect(all).not.toContain(secret);
  });
});

describe('the outbound guard at registration (switch off)', () => {
  let strict: TestServer;
  let strictOwner: Awaited<ReturnType<TestServer['tenant']>>;
  beforeAll(async () => {
    strict = await startTestServer({ db: server.db });
    strictOwner = await strict.tenant();
  });
  afterAll(async () => {
    await strict?.close();
  });

  it.each([
    ['http://example.com/mcp', /https/],
    ['https://127.0.0.1/mcp', /loopback/],
    ['https://[::1]/mcp', /loopback/],
    ['https://169.254.169.254/mcp', /link-local/],
    ['https://10.0.0.8/mcp', /private/],
    ['https://localhost/mcp', /localhost|loopback/],
    ['ftp://example.com/mcp', /scheme|https/],
  ])('refuses %s with 400 and stores nothing', async (url, reason) => {
    const res = await fetch(`${strict.url}/api/v1/apps`, {
      method: 'POST',
      headers: { authorization: `Bearer ${strictOwner.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'hostile', display_name: 'x', mcp_server_url: url, auth: { type: 'none' } }),
    });
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(body.field).toBe('mcpServerUrl');
    expect(body.message).toMatch(reason);
    const [count] = await adminQuery(strict.db, `select count(*)::int as n from apps where tenant_id = $1`, [strictOwner.tenantId]);
    expect(count.n).toBe(0);
  });
});
