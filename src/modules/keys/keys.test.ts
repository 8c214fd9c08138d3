import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { startFakeProviders, type FakeProviders } from '../../../test/fakes/providers';

// Integration keys through both doors, verified against local fakes of each provider.
let providers: FakeProviders;
let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;
const GOOD = 'good-token-0001';

beforeAll(async () => {
  providers = await startFakeProviders({ validTokens: [GOOD] });
  server = await startTestServer({
    env: {
      RUNLANE_PROVIDER_URL_CLOUDFLARE: providers.urls.cloudflare,
      RUNLANE_PROVIDER_URL_GITHUB: providers.urls.github,
      RUNLANE_PROVIDER_URL_POSTMARK: providers.urls.postmark,
      RUNLANE_PROVIDER_URL_OUTSTAND: providers.urls.outstand,
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
      RUNLANE_KEY_PROBE_TIMEOUT_MS: '500',
    },
  });
  owner = await server.tenant();
});
afterAll(async () => {
  await server?.close();
  await providers?.close();
});

function rest(method: string, path: string, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${owner.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('storing keys', () => {
  it('answers 201 on first store and 200 on replace, revoking the previous key atomically', async () => {
    const first = await rest('POST', '/api/v1/integration-keys', { provider: 'github', key: 'ghp_firstKeyValue1111', label: 'ci' });
    expect(first.status).toBe(201);
    const created = await first.json();
    expect(created).toMatchObject({ provider: 'github', status: 'active', label: 'ci', key_hint: '1111', metadata: {}, last_verified_at: null });
    expect(JSON.stringify(created)).not.toContain('ghp_firstKeyValue');

    const second = await rest('POST', '/api/v1/integration-keys', { provider: 'github', key: 'ghp_secondKeyValue2222' });
    expect(second.status).toBe(200);
    const list = await (await rest('GET', '/api/v1/integration-keys')).json();
    const github = list.filter((k: { provider: string }) => k.provider === 'github');
    expect(github.map((k: { status: string; key_hint: string }) => [k.status, k.key_hint])).toEqual([
      ['active', '2222'],
      ['revoked', '1111'],
    ]);
    const current = await (await rest('GET', '/api/v1/integration-keys/github')).json();
    expect(current.key_hint).toBe('2222');
  });

  it('reports replaced through GraphQL too', async () => {
    const STORE = `mutation($input: StoreIntegrationKeyInput!) { storeIntegrationKey(input: $input) {
      __typename ... on StoreIntegrationKeyPayload { replaced integrationKey { provider status keyHint } } ... on InputError { field message } } }`;
    const first = await gql(server.url, owner.token, STORE, { input: { provider: 'POSTMARK', key: 'pm-server-token-9999' } });
    expect(first.body.data.storeIntegrationKey).toMatchObject({ replaced: false, integrationKey: { provider: 'POSTMARK', status: 'ACTIVE', keyHint: '9999' } });
    const again = await gql(server.url, owner.token, STORE, { input: { provider: 'POSTMARK', key: 'pm-server-token-8888' } });
    expect(again.body.data.storeIntegrationKey.replaced).toBe(true);
  });

  it('refuses bad input: short key, unknown provider, netdata without base_url, non-object metadata', async () => {
    const cases: [unknown, string][] = [
      [{ provider: 'github', key: 'short' }, 'key'],
      [{ provider: 'dropbox', key: 'long-enough-key' }, 'provider'],
      [{ provider: 'netdata', key: 'long-enough-key' }, 'metadata.base_url'],
      [{ provider: 'netdata', key: 'long-enough-key', metadata: { base_url: 'ftp://x' } }, 'metadata.base_url'],
      [{ provider: 'github', key: 'long-enough-key', metadata: [1] }, 'metadata'],
    ];
    for (const [body, field] of cases) {
      const res = await rest('POST', '/api/v1/integration-keys', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).field, JSON.stringify(body)).toBe(field);
    }
    expect((await rest('GET', '/api/v1/integration-keys/netdata')).status).toBe(404);
  });
});

describe('verifying keys', () => {
  it('marks a rejected key invalid, a passing one active, and leaves the status alone on an outage', async () => {
    await rest('POST', '/api/v1/integration-keys', { provider: 'cloudflare', key: 'bad-cloudflare-token' });
    const rejected = await rest('POST', '/api/v1/integration-keys/cloudflare/verify');
    expect(rejected.status).toBe(200);
    const r = await rejected.json();
    expect(r).toMatchObject({ valid: false, reason: 'auth_failed' });
    expect(r.last_verified_at).toBeTruthy();
    expect((await (await rest('GET', '/api/v1/integration-keys/cloudflare')).json()).status).toBe('invalid');

    await rest('POST', '/api/v1/integration-keys', { provider: 'cloudflare', key: GOOD });
    const passed = await (await rest('POST', '/api/v1/integration-keys/cloudflare/verify')).json();
    expect(passed).toMatchObject({ valid: true });
    expect(passed.reason).toBeUndefined();
    expect((await (await rest('GET', '/api/v1/integration-keys/cloudflare')).json()).status).toBe('active');

    providers.override('cloudflare', () => ({ status: 503, body: 'down for maintenance' }));
    const outage = await (await rest('POST', '/api/v1/integration-keys/cloudflare/verify')).json();
    providers.override('cloudflare', undefined);
    expect(outage).toMatchObject({ valid: false, reason: 'provider_unavailable', last_verified_at: passed.last_verified_at });
    expect((await (await rest('GET', '/api/v1/integration-keys/cloudflare')).json()).status).toBe('active');
  });

  it('verifies netdata against the tenant’s base_url', async () => {
    const stored = await rest('POST', '/api/v1/integration-keys', { provider: 'netdata', key: GOOD, metadata: { base_url: providers.netdataBaseUrl } });
    expect(stored.status).toBe(201);
    const { body } = await gql(server.url, owner.token, `mutation { verifyIntegrationKey(provider: NETDATA) { __typename ... on IntegrationKeyVerification { valid reason } } }`);
    expect(body.data.verifyIntegrationKey).toEqual({ __typename: 'IntegrationKeyVerification', valid: true, reason: null });
    expect(providers.requestsFor('netdata').at(-1)?.headers.authorization).toBe(`Bearer ${GOOD}`);
  });

  it('answers 404 when there is no current key', async () => {
    expect((await rest('POST', '/api/v1/integration-keys/outstand/verify')).status).toBe(404);
    expect((await rest('POST', '/api/v1/integration-keys/nonsense/verify')).status).toBe(404);
  });
});

describe('revoking keys', () => {
  it('wipes the key, keeps an audit row, and answers 404 when none is current', async () => {
    const res = await rest('DELETE', '/api/v1/integration-keys/github');
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('revoked');
    expect((await rest('GET', '/api/v1/integration-keys/github')).status).toBe(404);
    expect((await rest('DELETE', '/api/v1/integration-keys/github')).status).toBe(404);
    const { body } = await gql(server.url, owner.token, `mutation { revokeIntegrationKey(provider: GITHUB) { __typename } }`);
    expect(body.data.revokeIntegrationKey.__typename).toBe('NotFoundError');
    const audit = await gql(server.url, owner.token, `{ auditEvents(first: 100) { edges { node { action targetId } } } }`);
    const actions = audit.body.data.auditEvents.edges.map((e: any) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(['integration_key.store', 'integration_key.replace', 'integration_key.verify', 'integration_key.revoke']));
  });
});
