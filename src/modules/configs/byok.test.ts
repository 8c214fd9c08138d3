import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { anthropicErrors, startFakeAnthropic, type Behaviour, type FakeAnthropic } from '../../../test/fakes/anthropic';

// BYOK through both doors, against a local Anthropic that answers with its documented bodies.
let anthropic: FakeAnthropic;
let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;

const cases: { key: string; behaviour: Behaviour; category: string }[] = [
  { key: 'sk-ant-api03-invalid-000000000001', behaviour: anthropicErrors.authentication(), category: 'invalid_key' },
  { key: 'sk-ant-api03-disabled-00000000002', behaviour: anthropicErrors.keyDisabled(), category: 'revoked_or_expired' },
  { key: 'sk-ant-api03-expired-000000000003', behaviour: anthropicErrors.keyExpired(), category: 'revoked_or_expired' },
  { key: 'sk-ant-api03-forbidden-0000000004', behaviour: anthropicErrors.permission(), category: 'insufficient_permissions' },
  { key: 'sk-ant-api03-nocredit-00000000005', behaviour: anthropicErrors.creditBalanceTooLow(), category: 'quota_exhausted' },
  { key: 'sk-ant-api03-billing-000000000006', behaviour: anthropicErrors.billing(), category: 'quota_exhausted' },
  { key: 'sk-ant-api03-spendcap-00000000007', behaviour: anthropicErrors.spendLimitReached({ status: 429 }), category: 'quota_exhausted' },
  { key: 'sk-ant-api03-throttled-0000000008', behaviour: anthropicErrors.rateLimit({ retryAfterSeconds: 3 }), category: 'rate_limited' },
  { key: 'sk-ant-api03-servererr-0000000009', behaviour: anthropicErrors.api(), category: 'provider_unavailable' },
  { key: 'sk-ant-api03-overload-00000000010', behaviour: anthropicErrors.overloaded(), category: 'provider_unavailable' },
  { key: 'sk-ant-api03-hanging-000000000011', behaviour: 'hang', category: 'provider_unavailable' },
];
const VALID = 'sk-ant-api03-valid-key-0000000000ABCD';

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  anthropic.setKeyBehaviour(VALID, 'valid');
  for (const c of cases) anthropic.setKeyBehaviour(c.key, c.behaviour);
  server = await startTestServer({ env: { ANTHROPIC_BASE_URL: anthropic.url, RUNLANE_KEY_PROBE_TIMEOUT_MS: '500' } });
  owner = await server.tenant();
});
afterAll(async () => {
  await server?.close();
  await anthropic?.close();
});

const SET = `mutation($k: String!) { setByokKey(blueprint: "custom", apiKey: $k) {
  __typename ... on AgentConfig { byokStatus byokKeyHint byokLastProbedAt } ... on KeyProbeError { code message category transient } ... on Error { code message } } }`;

function rest(method: string, path: string, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${owner.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('validateAnthropicKey and validate-key', () => {
  it('answers valid for a good key and stores nothing', async () => {
    const { body } = await gql(server.url, owner.token, `mutation($k: String!) { validateAnthropicKey(apiKey: $k) { valid category message } }`, { k: VALID });
    expect(body.data.validateAnthropicKey).toEqual({ valid: true, category: null, message: null });
    const res = await rest('POST', '/api/v1/agent-configs/validate-key', { api_key: VALID });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'valid' });
    expect(await (await rest('GET', '/api/v1/agent-configs')).json()).toEqual([]);
  });

  it.each(cases)('classifies $category ($key)', async ({ key, category }) => {
    const { body } = await gql(server.url, owner.token, `mutation($k: String!) { validateAnthropicKey(apiKey: $k) { valid category message } }`, { k: key });
    expect(body.data.validateAnthropicKey).toMatchObject({ valid: false, category: category.toUpperCase() });
    expect(body.data.validateAnthropicKey.message).not.toContain(key);
    const res = await rest('POST', '/api/v1/agent-configs/validate-key', { api_key: key });
    expect(res.status).toBe(200);
    const probe = await res.json();
    expect(probe).toMatchObject({ status: 'invalid', category });
    expect(JSON.stringify(probe)).not.toContain(key);
  });

  it('probes without spending tokens', () => {
    const paths = new Set(anthropic.requests.map((r) => `${r.method} ${r.path}`));
    expect([...paths]).toEqual(['GET /v1/models']);
  });
});

describe('setByokKey and PUT byok-key', () => {
  it.each(cases)('refuses $category and leaves the row untouched', async ({ key, category }) => {
    const { body } = await gql(server.url, owner.token, SET, { k: key });
    expect(body.data.setByokKey).toMatchObject({ __typename: 'KeyProbeError', code: 'KEY_INVALID', category: category.toUpperCase() });
    const res = await rest('PUT', '/api/v1/agent-configs/custom/byok-key', { api_key: key });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ status: 'invalid', category });
    expect((await rest('GET', '/api/v1/agent-configs/custom')).status).toBe(404);
  });

  it('stores a valid key encrypted, shows a hint, and revokes it for good', async () => {
    const { body } = await gql(server.url, owner.token, SET, { k: VALID });
    expect(body.data.setByokKey).toMatchObject({ __typename: 'AgentConfig', byokStatus: 'ACTIVE', byokKeyHint: 'sk-ant-***ABCD' });
    expect(await server.app.services.agentConfigs.byokKey(owner.tenantId, 'custom')).toBe(VALID);

    // An invalid replacement leaves the active key in place.
    const refused = await rest('PUT', '/api/v1/agent-configs/custom/byok-key', { api_key: cases[0]!.key });
    expect(refused.status).toBe(400);
    expect(await server.app.services.agentConfigs.byokKey(owner.tenantId, 'custom')).toBe(VALID);

    const revoked = await rest('DELETE', '/api/v1/agent-configs/custom/byok-key');
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toMatchObject({ byok_status: 'revoked' });
    expect(await server.app.services.agentConfigs.byokKey(owner.tenantId, 'custom')).toBeNull();
    // Full replace of the config does not bring the key back.
    await rest('PUT', '/api/v1/agent-configs/custom', { budget_default_cents: 10 });
    expect((await (await rest('GET', '/api/v1/agent-configs/custom')).json()).byok_status).toBe('revoked');

    const again = await rest('PUT', '/api/v1/agent-configs/custom/byok-key', { api_key: VALID });
    expect(again.status).toBe(200);
    expect((await again.json()).byok_status).toBe('active');
  });

  it('refuses a missing or malformed api_key with 400', async () => {
    expect((await rest('PUT', '/api/v1/agent-configs/custom/byok-key', {})).status).toBe(400);
    expect((await rest('PUT', '/api/v1/agent-configs/custom/byok-key', { api_key: 'short' })).status).toBe(400);
    expect((await rest('POST', '/api/v1/agent-configs/validate-key', { api_key: 42 })).status).toBe(400);
  });

  it('audits BYOK operations without the key', async () => {
    const { body } = await gql(server.url, owner.token, `{ auditEvents(first: 100) { edges { node { action detail } } } }`);
    const events = body.data.auditEvents.edges.map((e: any) => e.node);
    expect(events.map((e: any) => e.action)).toEqual(expect.arrayContaining(['byok_key.set', 'byok_key.revoke']));
    expect(JSON.stringify(events)).not.toContain(VALID);
  });
});
