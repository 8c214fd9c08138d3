import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/app';
import { adminQuery } from '../test/support/database';
import { anthropicErrors, startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../test/fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../test/fakes/mcp-server';
import { SCOPES } from '../src/modules/accounts/scopes';
import type { AgentConfigInput } from '../src/modules/configs/agent-config.service';
import { AgentPool } from './agent-pool';

// Agent runs end to end inside one process: API → queue → pool → loop → fake Anthropic (and a
// fake MCP server for app tools) → journal, with the real database, bus and lease queue.
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
let server: TestServer;
let pool: AgentPool;
let keyCounter = 0;

type Tenant = { tenantId: string; token: string; key: string; actor: { tenantId: string; name: string; scopes: Set<string> } };

beforeAll(async () => {
  fake = await startFakeAnthropic();
  mcp = await startFakeMcpServer({ stateful: true, json: false, tools: [{ name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { x: { type: 'number' } } } }] });
  server = await startTestServer({
    env: {
      ANTHROPIC_BASE_URL: fake.url,
      RUNLANE_RUN_POLL_MS: '100',
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
    },
  });
  pool = new AgentPool(server.app, 4);
  await pool.start();
});
afterAll(async () => {
  await pool?.stop(0);
  await server?.close();
  await mcp?.close();
  await fake?.close();
});

async function tenant(options: { key?: boolean; config?: AgentConfigInput } = {}): Promise<Tenant> {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-runs-${++keyCounter}-${'0'.repeat(20)}`;
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Be brief.', model: 'claude-sonnet-4-6', ...options.config });
  if (options.key !== false) {
    fake.setKeyBehaviour(key, 'valid');
    await server.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  }
  return { tenantId: t.tenantId, token: t.token, key, actor };
}

function rest(t: Tenant, method: string, path: string, body?: unknown) {
  return fetch(`${server.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${t.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function enqueue(t: Tenant, body: Record<string, unknown> = {}): Promise<{ id: string; status: number; body: any }> {
  const res = await rest(t, 'POST', '/api/v1/agents/custom/runs', { input: { prompt: 'Hello' }, ...body });
  const json = await res.json();
  return { id: json.id, status: res.status, body: json };
}

async function waitFor(t: Tenant, id: string, done: (run: any) => boolean, timeoutMs = 10_000): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await (await rest(t, 'GET', `/api/v1/agents/custom/runs/${id}`)).json();
    if (done(run)) return run;
    if (Date.now() > until) throw new Error(`run ${id} stuck in ${run.status}: ${JSON.stringify(run).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const terminal = (run: any) => ['succeeded', 'failed', 'cancelled'].includes(run.status);
const events = async (t: Tenant, id: string) => (await server.app.services.runs.events(t.tenantId, id)).map((e) => e.type);

describe('a run from enqueue to result', () => {
  it('succeeds with the model’s answer; the step has tokens and cost, and the run’s cost is their sum', async () => {
    const t = await tenant();
    fake.script(t.key, [textReply('Hi there.', { usage: { input_tokens: 1200, output_tokens: 30 } })]);
    const queued = await enqueue(t);
    expect(queued.status).toBe(201);
    expect(queued.body).toMatchObject({ status: 'queued', agent_blueprint: 'custom', input: { prompt: 'Hello' }, budget_usd_cents: 100, cost_usd_cents: 0 });
    const run = await waitFor(t, queued.id, terminal);
    expect(run.failure_detail ?? null).toBeNull();
    expect(run).toMatchObject({ status: 'succeeded', output: { text: 'Hi there.', stop_reason: 'end_turn', turns: 1 }, failure_category: null });
    expect(run.steps).toHaveLength(1);
    const [step] = run.steps;
    expect(step).toMatchObject({ seq: 1, kind: 'llm', model: 'claude-sonnet-4-6', input_tokens: 1200, output_tokens: 30 });
    expect(step.cost_usd_cents).toBeCloseTo(((1200 * 3 + 30 * 15) / 1e6) * 100, 6);
    expect(run.cost_usd_cents).toBeCloseTo(step.cost_usd_cents, 6);
    const [request] = fake.requestsTo('/v1/messages').filter((r) => r.apiKey === t.key);
    expect(request!.body).toMatchObject({ model: 'claude-sonnet-4-6', system: 'Be brief.', stream: true, messages: [{ role: 'user', content: 'Hello' }] });
    expect(await events(t, queued.id)).toEqual(['queued', 'started', 'succeeded']);
    const logs = await adminQuery(server.db, `select seq, stream, line from log_lines where source_id = $1 order by seq`, [queued.id]);
    expect(logs.map((l) => l.seq)).toEqual(logs.map((_, i) => String(i + 1)));
    expect(logs.some((l) => l.stream === 'llm' && l.line === 'Hi there.')).toBe(true);
  });

  it('calls an enabled app tool over MCP and hands the result back to the model', async () => {
    const t = await tenant();
    await server.app.services.apps.register(t.actor, { slug: 'tools', displayName: 'Tools', mcpServerUrl: mcp.url, auth: { type: 'none' } });
    await server.app.services.apps.update(t.actor, 'tools', { enabledTools: ['echo'] });
    fake.script(t.key, [toolUseReply('tools__echo', { x: 7 }, { id: 'toolu_echo_1' }), textReply('Echo said 7.')]);
    const callsBefore = mcp.calls.length;
    const queued = await enqueue(t);
    const run = await waitFor(t, queued.id, terminal);
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((s: any) => [s.seq, s.kind, s.name])).toEqual([
      [1, 'llm', 'claude-sonnet-4-6'],
      [2, 'tool', 'tools__echo'],
      [3, 'llm', 'claude-sonnet-4-6'],
    ]);
    expect(mcp.calls.slice(callsBefore)).toEqual([{ name: 'echo', args: { x: 7 } }]);
    const requests = fake.requestsTo('/v1/messages').filter((r) => r.apiKey === t.key);
    expect((requests[0]!.body as any).tools.map((tool: any) => tool.name)).toEqual(['tools__echo']);
    const second = requests[1]!.body as any;
    expect(second.messages.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_echo_1' }] });
    expect(run.cost_usd_cents).toBeCloseTo(run.steps.reduce((sum: number, s: any) => sum + s.cost_usd_cents, 0), 6);
  });

  it('retries a transient 529 and records the retry as an event', async () => {
    const t = await tenant();
    fake.script(t.key, [{ error: anthropicErrors.overloaded() }, textReply('Recovered.')]);
    const run = await waitFor(t, (await enqueue(t)).id, terminal);
    expect(run.status).toBe('succeeded');
    expect(await events(t, run.id)).toContain('llm_retry');
  });
});

describe('models without a known price', () => {
  it('runs, records an unknown_model_price event, and never pretends the cost is a silent zero', async () => {
    const t = await tenant({ config: { model: 'claude-future-9' } });
    fake.script(t.key, [textReply('Fine.')]);
    const run = await waitFor(t, (await enqueue(t)).id, terminal);
    expect(run).toMatchObject({ status: 'succeeded', cost_usd_cents: 0 });
    const unknown = (await server.app.services.runs.events(t.tenantId, run.id)).find((e) => e.type === 'unknown_model_price');
    expect(unknown?.detail).toMatchObject({ model: 'claude-future-9' });
  });
});

describe('runs that fail, with their category', () => {
  it('no BYOK key → auth_failed, without calling Anthropic', async () => {
    const t = await tenant({ key: false });
    const run = await waitFor(t, (await enqueue(t)).id, terminal);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'auth_failed' });
    expect(fake.requests.some((r) => r.apiKey === t.key)).toBe(false);
  });

  it('a revoked key → auth_failed', async () => {
    const t = await tenant();
    await server.app.services.agentConfigs.revokeByokKey(t.actor, 'custom');
    const run = await waitFor(t, (await enqueue(t)).id, terminal);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'auth_failed' });
  });

  it('a key Anthropic rejects mid-life → auth_failed, and the key never appears in the detail', async () => {
    const t = await tenant();
    fake.script(t.key, [{ error: anthropicErrors.authentication() }]);
    const run = await waitFor(t, (await enqueue(t)).id, terminal);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'auth_failed' });
    expect(JSON.stringify(run)).not.toContain(t.key);
  });

  it('a budget too small for the first call → budget_exhausted before any model call', async () => {
    const t = await tenant();
    const run = await waitFor(t, (await enqueue(t, { budget_usd_cents: 0.001 })).id, terminal);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'budget_exhausted', cost_usd_cents: 0 });
    expect(fake.requests.some((r) => r.apiKey === t.key && r.path === '/v1/messages')).toBe(false);
  });

  it('stops before a call that could exceed the budget, never after', async () => {
    const t = await tenant();
    // Each turn asks for a tool again; the budget runs out part-way, before it is exceeded.
    fake.script(t.key, Array.from({ length: 20 }, (_, i) => toolUseReply('nope', { i }, { usage: { input_tokens: 20_000, output_tokens: 500 } })));
    const run = await waitFor(t, (await enqueue(t, { budget_usd_cents: 40 })).id, terminal, 20_000);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'budget_exhausted' });
    expect(run.cost_usd_cents).toBeLessThanOrEqual(40);
    expect(run.steps.filter((s: any) => s.kind === 'llm').length).toBeGreaterThan(1);
  });

  it('a model that never answers → timeout at the deadline', async () => {
    const t = await tenant();
    fake.script(t.key, ['hang']);
    const started = Date.now();
    const run = await waitFor(t, (await enqueue(t, { deadline_seconds: 2 })).id, terminal);
    expect(run).toMatchObject({ status: 'failed', failure_category: 'timeout' });
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

describe('cancel', () => {
  it('aborts an in-flight LLM stream within a second; a second cancel is a conflict', async () => {
    const t = await tenant();
    fake.script(t.key, ['hang']);
    const { id } = await enqueue(t);
    await waitFor(t, id, (run) => run.status === 'running');
    await new Promise((r) => setTimeout(r, 200));
    const inUse = pool.slotsInUse();
    const res = await rest(t, 'POST', `/api/v1/agents/custom/runs/${id}/cancel`);
    expect(res.status).toBe(200);
    expect((await res.json()).status).toBe('cancelled');
    const until = Date.now() + 1_000;
    while (pool.slotsInUse() >= inUse && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(pool.slotsInUse()).toBeLessThan(inUse);
    const again = await rest(t, 'POST', `/api/v1/agents/custom/runs/${id}/cancel`);
    expect(again.status).toBe(409);
    expect((await waitFor(t, id, terminal)).failure_category).toBe('cancelled');
  });
});

describe('the circuit breaker', () => {
  it('10 failed runs in 48 h disable the config: enqueue answers 409 until enableAgentConfig', async () => {
    const t = await tenant({ key: false });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await enqueue(t)).id);
    for (const id of ids) await waitFor(t, id, terminal);
    const last = await waitFor(t, ids.at(-1)!, terminal);
    expect(last.consecutive_failures).toBeGreaterThanOrEqual(1);
    const config = await server.app.services.agentConfigs.get(t.tenantId, 'custom');
    expect(config.disabledAt).not.toBeNull();
    expect(config.disableReason).toMatch(/Circuit breaker/);
    const refused = await enqueue(t);
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('CONFLICT');
    const allEvents = await Promise.all(ids.map((id) => events(t, id)));
    expect(allEvents.flat()).toContain('circuit_opened');
    await server.app.services.agentConfigs.enable(t.actor, 'custom');
    expect((await enqueue(t)).status).toBe(201);
  });
});

describe('the REST door', () => {
  it('lists newest first with filters in the seed envelope; answers idempotent enqueues with the same run', async () => {
    const t = await tenant({ key: false });
    const first = await enqueue(t, { idempotency_key: 'abc' });
    const again = await enqueue(t, { idempotency_key: 'abc' });
    expect(again.status).toBe(200);
    expect(again.id).toBe(first.id);
    await enqueue(t);
    const list = await (await rest(t, 'GET', '/api/v1/agents/custom/runs?limit=1')).json();
    expect(list).toMatchObject({ has_more: true, next_cursor: expect.any(String) });
    expect(list.data).toHaveLength(1);
    expect((await rest(t, 'GET', '/api/v1/agents/custom/runs?status=bogus')).status).toBe(400);
    expect((await rest(t, 'POST', '/api/v1/agents/nope/runs', {})).status).toBe(404);
    expect((await rest(t, 'POST', '/api/v1/agents/custom/runs', { input: 1, budget_usd_cents: -1 })).status).toBe(400);
    expect((await rest(t, 'POST', '/api/v1/agents/custom/runs', { colour: 'red' })).status).toBe(400);
    const other = await tenant({ key: false });
    expect((await rest(other, 'GET', `/api/v1/agents/custom/runs/${first.id}`)).status).toBe(404);
    expect((await rest(other, 'POST', `/api/v1/agents/custom/runs/${first.id}/cancel`)).status).toBe(404);
    expect((await rest(t, 'GET', `/api/v1/agents/contact_deduper/runs/${first.id}`)).status).toBe(404);
  });

  it('a tenant without an agent config for the blueprint gets 404 on enqueue', async () => {
    const t = await server.tenant();
    const res = await fetch(`${server.url}/api/v1/agents/contact_deduper/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(404);
  });
});
