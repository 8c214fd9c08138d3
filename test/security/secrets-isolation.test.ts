import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../support/app';
import { startFakeAnthropic, type FakeAnthropic } from '../fakes/anthropic';

// Secrets at rest and across tenants: nothing readable in a dump, nothing reachable from
// another tenant through either door.
const run = promisify(execFile);
let server: TestServer;
let anthropic: FakeAnthropic;
let alpha: Awaited<ReturnType<TestServer['tenant']>>;
let beta: Awaited<ReturnType<TestServer['tenant']>>;
const BYOK = 'sk-ant-api03-ALPHASECRETKEYVALUE-0123456789';
const GITHUB = 'ghp_alphaGithubTokenSecretValue42';

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  anthropic.setKeyBehaviour(BYOK, 'valid');
  server = await startTestServer({ env: { ANTHROPIC_BASE_URL: anthropic.url } });
  alpha = await server.tenant('alpha');
  beta = await server.tenant('beta');
  const set = await gql(server.url, alpha.token, `mutation($k: String!) { setByokKey(blueprint: "custom", apiKey: $k) { __typename ... on AgentConfig { byokStatus byokKeyHint } ... on Error { message } } }`, { k: BYOK });
  expect(set.body.data.setByokKey).toMatchObject({ __typename: 'AgentConfig', byokStatus: 'ACTIVE', byokKeyHint: 'sk-ant-***6789' });
  const stored = await fetch(`${server.url}/api/v1/integration-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alpha.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ provider: 'github', key: GITHUB, label: 'ci bot' }),
  });
  expect(stored.status).toBe(201);
});
afterAll(async () => {
  await server?.close();
  await anthropic?.close();
});

function rest(method: string, path: string, token: string, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('secrets at rest', () => {
  it('leaves no key plaintext in a full database dump', async () => {
    const { stdout } = await run('pg_dump', ['--no-owner', '--dbname', server.db.adminUrl], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toContain('ci bot');
    for (const secret of [BYOK, GITHUB]) {
      expect(stdout).not.toContain(secret);
      expect(stdout).not.toContain(secret.slice(8, -4));
    }
  });

  it('shows hints only, never the keys, in every response', async () => {
    const list = await (await rest('GET', '/api/v1/integration-keys', alpha.token)).text();
    const configs = await (await rest('GET', '/api/v1/agent-configs', alpha.token)).text();
    const graph = JSON.stringify((await gql(server.url, alpha.token, `{ integrationKeys { keyHint } agentConfigs { byokKeyHint } auditEvents(first: 50) { edges { node { detail } } } }`)).body);
    for (const text of [list, configs, graph]) {
      expect(text).not.toContain(BYOK);
      expect(text).not.toContain(GITHUB);
    }
    expect(list).toContain('ue42');
  });
});

describe("another tenant's token", () => {
  it('cannot read alpha’s configs or keys', async () => {
    expect(await (await rest('GET', '/api/v1/agent-configs', beta.token)).json()).toEqual([]);
    expect((await rest('GET', '/api/v1/agent-configs/custom', beta.token)).status).toBe(404);
    expect(await (await rest('GET', '/api/v1/integration-keys', beta.token)).json()).toEqual([]);
    expect((await rest('GET', '/api/v1/integration-keys/github', beta.token)).status).toBe(404);
    const { body } = await gql(server.url, beta.token, `{ agentConfigs { id } agentConfig(blueprint: "custom") { id } integrationKeys { id } auditEvents { edges { node { action } } } }`);
    expect(body.data).toEqual({ agentConfigs: [], agentConfig: null, integrationKeys: [], auditEvents: { edges: [] } });
  });

  it('cannot revoke, verify or delete them', async () => {
    expect((await rest('DELETE', '/api/v1/integration-keys/github', beta.token)).status).toBe(404);
    expect((await rest('POST', '/api/v1/integration-keys/github/verify', beta.token)).status).toBe(404);
    expect((await rest('DELETE', '/api/v1/agent-configs/custom/byok-key', beta.token)).status).toBe(404);
    expect((await rest('DELETE', '/api/v1/agent-configs/custom', beta.token)).status).toBe(404);
    const { body } = await gql(server.url, beta.token, `mutation { revokeByokKey(blueprint: "custom") { __typename } revokeIntegrationKey(provider: GITHUB) { __typename } deleteAgentConfig(blueprint: "custom") { __typename } }`);
    expect(body.data).toEqual({
      revokeByokKey: { __typename: 'NotFoundError' },
      revokeIntegrationKey: { __typename: 'NotFoundError' },
      deleteAgentConfig: { __typename: 'NotFoundError' },
    });
    // alpha's secrets are all still there.
    expect((await rest('GET', '/api/v1/integration-keys/github', alpha.token)).status).toBe(200);
    expect((await (await rest('GET', '/api/v1/agent-configs/custom', alpha.token)).json()).byok_status).toBe('active');
  });

  it('overwrites nothing by storing its own', async () => {
    const own = await rest('POST', '/api/v1/integration-keys', beta.token, { provider: 'github', key: 'ghp_betaTokenValue99' });
    expect(own.status).toBe(201);
    const alphaKey = await (await rest('GET', '/api/v1/integration-keys/github', alpha.token)).json();
    expect(alphaKey.key_hint).toBe('ue42');
  });
});
