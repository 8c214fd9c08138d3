import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { inTenant } from '../../db/tenant-transaction';

let server: TestServer;
let owner: Awaited<ReturnType<TestServer['tenant']>>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
});
afterAll(() => server?.close());

const PUT = `mutation($blueprint: String!, $input: AgentConfigInput!) {
  putAgentConfig(blueprint: $blueprint, input: $input) {
    __typename
    ... on AgentConfig { blueprint systemPrompt model tools budgetDefaultCents deadlineDefaultSeconds guardrails schedule byokStatus }
    ... on Error { code message }
    ... on InputError { field }
  }
}`;

function rest(method: string, path: string, body?: unknown, token = owner.token) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

describe('blueprints', () => {
  it('lists the code-defined kinds with their defaults', async () => {
    const { body } = await gql(server.url, owner.token, `{ blueprints { name model tools budgetDefaultCents deadlineDefaultSeconds guardrails systemPrompt } }`);
    const names = body.data.blueprints.map((b: { name: string }) => b.name);
    expect(names).toEqual(['contact_deduper', 'custom']);
    const deduper = body.data.blueprints[0];
    expect(deduper.tools).toContain('propose_merge');
    expect(deduper.budgetDefaultCents).toBeGreaterThan(0);
    expect(deduper.systemPrompt.length).toBeGreaterThan(20);
  });
});

describe('agent configs', () => {
  it('puts with full-replace semantics: omitted fields revert to null and []', async () => {
    const full = await gql(server.url, owner.token, PUT, {
      blueprint: 'custom',
      input: {
        systemPrompt: 'Be brief.',
        model: 'claude-sonnet-4-6',
        tools: ['search_docs'],
        budgetDefaultCents: 250,
        deadlineDefaultSeconds: 120,
        guardrails: [{ type: 'denylist', tools: ['*delete*'] }],
        schedule: '*/5 * * * *',
      },
    });
    expect(full.body.data.putAgentConfig).toMatchObject({
      __typename: 'AgentConfig',
      systemPrompt: 'Be brief.',
      tools: ['search_docs'],
      budgetDefaultCents: 250,
      guardrails: [{ type: 'denylist', tools: ['*delete*'] }],
      schedule: '*/5 * * * *',
      byokStatus: 'MISSING',
    });
    const partial = await gql(server.url, owner.token, PUT, { blueprint: 'custom', input: { budgetDefaultCents: 99 } });
    expect(partial.body.data.putAgentConfig).toMatchObject({
      systemPrompt: null,
      model: null,
      tools: [],
      budgetDefaultCents: 99,
      deadlineDefaultSeconds: null,
      guardrails: [],
      schedule: null,
    });
    const read = await gql(server.url, owner.token, `{ agentConfig(blueprint: "custom") { budgetDefaultCents } agentConfigs { blueprint } }`);
    expect(read.body.data).toEqual({ agentConfig: { budgetDefaultCents: 99 }, agentConfigs: [{ blueprint: 'custom' }] });
  });

  it('rejects bad input with field-level errors and changes nothing', async () => {
    const cases: [Record<string, unknown>, RegExp, RegExp][] = [
      [{ schedule: '61 * * * *' }, /schedule/, /minute/],
      [{ schedule: 'every day' }, /schedule/, /5 fields/],
      [{ guardrails: [{ type: 'teleport' }] }, /guardrails/, /./],
      [{ guardrails: [{ type: 'rate_limit', tool: 'x', max_calls: 0, window_seconds: 60 }] }, /guardrails\.0\.max_calls/, /./],
      [{ guardrails: [{ type: 'io_validation', tool: 'x', schema: { type: 'no-such-type' } }] }, /guardrails\.0\.schema/, /JSON Schema/],
      [{ guardrails: [{ type: 'quiet_hours', start: '25:00', end: '07:00' }] }, /guardrails\.0\.start/, /HH:MM/],
      [{ guardrails: [{ type: 'denylist', tools: ['a'], extra: true }] }, /guardrails\.0/, /./],
      [{ guardrails: { not: 'a list' } }, /guardrails/, /./],
      [{ budgetDefaultCents: -5 }, /budgetDefaultCents/, /./],
      [{ model: 'Not A Model!' }, /model/, /model id/],
      [{ tools: ['has space'] }, /tools\.0/, /./],
    ];
    for (const [input, field, message] of cases) {
      const { body } = await gql(server.url, owner.token, PUT, { blueprint: 'custom', input });
      const result = body.data.putAgentConfig;
      expect(result.__typename, JSON.stringify(input)).toBe('InputError');
      expect(result.field, JSON.stringify(input)).toMatch(field);
      expect(result.message, JSON.stringify(input)).toMatch(message);
    }
    const read = await gql(server.url, owner.token, `{ agentConfig(blueprint: "custom") { budgetDefaultCents } }`);
    expect(read.body.data.agentConfig.budgetDefaultCents).toBe(99);
  });

  it('answers an unknown blueprint with NotFound', async () => {
    const { body } = await gql(server.url, owner.token, PUT, { blueprint: 'nope', input: {} });
    expect(body.data.putAgentConfig.__typename).toBe('NotFoundError');
    const get = await gql(server.url, owner.token, `{ agentConfig(blueprint: "nope") { id } }`);
    expect(get.body.data.agentConfig).toBeNull();
  });

  it('serves the REST paths with snake_case records', async () => {
    const put = await rest('PUT', '/api/v1/agent-configs/contact_deduper', { budget_default_cents: 500, schedule: '0 0 9 * * 1-5', guardrails: [] });
    expect(put.status).toBe(200);
    const record = await put.json();
    expect(record).toMatchObject({ agent_blueprint: 'contact_deduper', tenant_id: owner.tenantId, budget_default_cents: 500, schedule: '0 0 9 * * 1-5', byok_status: 'missing', deadline_default_seconds: null, guardrails: [] });
    expect(Object.keys(record).some((k) => k.includes('ciphertext'))).toBe(false);
    const list = await (await rest('GET', '/api/v1/agent-configs')).json();
    expect(list.map((c: { agent_blueprint: string }) => c.agent_blueprint)).toEqual(['contact_deduper', 'custom']);
    expect((await rest('GET', '/api/v1/agent-configs/contact_deduper')).status).toBe(200);
    const typo = await rest('PUT', '/api/v1/agent-configs/contact_deduper', { budget_cents: 5 });
    expect(typo.status).toBe(400);
    expect(await typo.json()).toMatchObject({ error: 'INVALID_REQUEST', field: 'budget_cents' });
    const badCron = await rest('PUT', '/api/v1/agent-configs/contact_deduper', { schedule: '* *' });
    expect(badCron.status).toBe(400);
    expect((await badCron.json()).field).toBe('schedule');
    expect((await rest('PUT', '/api/v1/agent-configs/contact_deduper', [1, 2])).status).toBe(400);
    const deleted = await rest('DELETE', '/api/v1/agent-configs/contact_deduper');
    expect(deleted.status).toBe(200);
    expect((await rest('GET', '/api/v1/agent-configs/contact_deduper')).status).toBe(404);
    expect((await rest('DELETE', '/api/v1/agent-configs/contact_deduper')).status).toBe(404);
  });

  it('enableAgentConfig clears the circuit breaker', async () => {
    await inTenant(server.app.orm, owner.tenantId, (em) =>
      em.execute(`update agent_configs set disabled_at = now(), disable_reason = '10 failed runs in 48 h' where agent_blueprint = 'custom'`),
    );
    const before = await gql(server.url, owner.token, `{ agentConfig(blueprint: "custom") { disabledAt disableReason } }`);
    expect(before.body.data.agentConfig.disableReason).toBe('10 failed runs in 48 h');
    const { body } = await gql(server.url, owner.token, `mutation { enableAgentConfig(blueprint: "custom") { __typename ... on AgentConfig { disabledAt disableReason } } }`);
    expect(body.data.enableAgentConfig).toEqual({ __typename: 'AgentConfig', disabledAt: null, disableReason: null });
  });

  it('needs agents:read to read and agents:write to change', async () => {
    const { body } = await gql(
      server.url,
      owner.token,
      `mutation { createAccount(input: { name: "Config Reader", scopes: ["agents:read"] }) { ... on AccountWithToken { token } } }`,
    );
    const reader = body.data.createAccount.token;
    expect((await rest('GET', '/api/v1/agent-configs', undefined, reader)).status).toBe(200);
    const denied = await rest('PUT', '/api/v1/agent-configs/custom', {}, reader);
    expect(denied.status).toBe(403);
    expect((await denied.json()).requiredScope).toBe('agents:write');
    const gqlDenied = await gql(server.url, reader, PUT, { blueprint: 'custom', input: {} });
    expect(gqlDenied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'agents:write' });
  });

  it('records config changes in the audit log, with no secret', async () => {
    const { body } = await gql(server.url, owner.token, `{ auditEvents(first: 50) { edges { node { actor action targetType targetId detail } } } }`);
    const actions = body.data.auditEvents.edges.map((e: any) => e.node.action);
    expect(actions).toEqual(expect.arrayContaining(['agent_config.put', 'agent_config.delete', 'agent_config.enable']));
    expect(body.data.auditEvents.edges[0].node.actor).toBe('Owner');
  });
});
