import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/app';
import { adminQuery } from '../test/support/database';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic, type FakeReply } from '../test/fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../test/fakes/mcp-server';
import { SCOPES } from '../src/modules/accounts/scopes';
import type { GuardrailRule } from '../src/modules/guardrails/rules';
import { AgentPool } from './agent-pool';

// Guardrails inside the run loop, one primitive at a time, through the fake Anthropic API and a
// fake MCP server whose `echo` tool counts its calls. The approval tests decide through the
// approvals service, as decideApproval does.
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
let server: TestServer;
let pool: AgentPool;
let counter = 0;

type Tenant = Awaited<ReturnType<typeof tenant>>;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  mcp = await startFakeMcpServer({
    stateful: true,
    json: false,
    tools: [{ name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { x: {} } } }],
  });
  server = await startTestServer({
    redis: true,
    env: { ANTHROPIC_BASE_URL: fake.url, RUNLANE_RUN_POLL_MS: '100', RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1' },
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

async function tenant(guardrails: GuardrailRule[]) {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, accountId: t.accountId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-guard-${++counter}-${'0'.repeat(20)}`;
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Be brief.', model: 'claude-sonnet-4-6', guardrails });
  fake.setKeyBehaviour(key, 'valid');
  await server.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  await server.app.services.apps.register(actor, { slug: 'tools', displayName: 'Tools', mcpServerUrl: mcp.url, auth: { type: 'none' } });
  await server.app.services.apps.update(actor, 'tools', { enabledTools: ['echo'] });
  return { ...t, actor, key };
}

async function run(t: Tenant, script: FakeReply[]) {
  fake.script(t.key, script);
  const { run } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Go' } });
  return run.id;
}

async function waitFor(t: Tenant, id: string, done: (status: string) => boolean, timeoutMs = 10_000) {
  for (const until = Date.now() + timeoutMs; ; ) {
    const current = (await server.app.services.runs.get(t.tenantId, id))!;
    if (done(current.status)) return current;
    if (Date.now() > until) throw new Error(`run ${id} stuck in ${current.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
const ended = (s: string) => ['succeeded', 'failed', 'cancelled'].includes(s);
const guardEvents = async (t: Tenant, id: string) =>
  (await server.app.services.runs.events(t.tenantId, id)).filter((e) => e.type === 'guardrail').map((e) => e.detail as Record<string, unknown>);
const echoCalls = (x: unknown) => mcp.calls.filter((c) => c.name === 'echo' && c.args.x === x).length;
const echo = (x: unknown, id?: string) => toolUseReply('tools__echo', { x }, { id });

function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
}

describe('guardrails before every tool call', () => {
  it('allowlist: a tool not on it fails the run guardrail_blocked, without calling it; the decision is an event', async () => {
    const t = await tenant([{ type: 'allowlist', tools: ['contacts_*'] }]);
    const id = await run(t, [echo('allow-1'), textReply('never')]);
    const done = await waitFor(t, id, ended);
    expect(done).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    expect(echoCalls('allow-1')).toBe(0);
    expect(await guardEvents(t, id)).toEqual([expect.objectContaining({ action: 'deny', rule: 0, ruleType: 'allowlist', tool: 'tools__echo' })]);
  });

  it('denylist: a glob match fails the run; a tool it does not match runs, and its allow decision is an event', async () => {
    const t = await tenant([{ type: 'denylist', tools: ['*delete*'] }]);
    const allowed = await run(t, [echo('deny-ok'), textReply('done')]);
    expect((await waitFor(t, allowed, ended)).status).toBe('succeeded');
    expect(echoCalls('deny-ok')).toBe(1);
    expect(await guardEvents(t, allowed)).toEqual([expect.objectContaining({ action: 'allow', tool: 'tools__echo', seq: 2 })]);

    const t2 = await tenant([{ type: 'denylist', tools: ['tools__*'] }]);
    const denied = await run(t2, [echo('deny-no'), textReply('never')]);
    expect(await waitFor(t2, denied, ended)).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    expect(echoCalls('deny-no')).toBe(0);
  });

  it('rate_limit per run: the call past max_calls within the window is refused', async () => {
    const t = await tenant([{ type: 'rate_limit', tool: 'tools__echo', max_calls: 2, window_seconds: 60, scope: 'run' }]);
    const id = await run(t, [echo('rl'), echo('rl'), echo('rl'), textReply('never')]);
    const done = await waitFor(t, id, ended);
    expect(done).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    expect(echoCalls('rl')).toBe(2);
    expect((await guardEvents(t, id)).map((e) => e.action)).toEqual(['allow', 'allow', 'deny']);
  });

  it('io_validation: input failing the schema is refused with the schema error; valid input runs', async () => {
    const rules: GuardrailRule[] = [{ type: 'io_validation', tool: 'tools__echo', schema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } }];
    const t = await tenant(rules);
    const ok = await run(t, [echo(41), textReply('done')]);
    expect((await waitFor(t, ok, ended)).status).toBe('succeeded');
    const bad = await run(t, [echo('not-a-number'), textReply('never')]);
    expect(await waitFor(t, bad, ended)).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    const [deny] = await guardEvents(t, bad);
    expect(deny).toMatchObject({ action: 'deny', ruleType: 'io_validation' });
    expect(String(deny!.reason)).toContain('/x must be number');
    expect(String(deny!.reason)).not.toContain('not-a-number');
    expect(echoCalls('not-a-number')).toBe(0);
  });

  it('quiet_hours block fails the call; defer puts the run back in the queue until the window ends, deadline moved with it', async () => {
    const now = Date.now();
    const window = { start: hhmm(now - 3_600_000), end: hhmm(now + 3_600_000) };
    const blocked = await tenant([{ type: 'quiet_hours', ...window, action: 'block' }]);
    const b = await run(blocked, [echo('quiet-b'), textReply('never')]);
    expect(await waitFor(blocked, b, ended)).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });

    const deferred = await tenant([{ type: 'quiet_hours', ...window, action: 'defer' }]);
    const d = await run(deferred, [echo('quiet-d'), textReply('later')]);
    await waitFor(deferred, d, (s) => s === 'queued' && true, 10_000).catch(() => undefined);
    const until = Date.now() + 10_000;
    let row: any;
    while (Date.now() < until) {
      [row] = await adminQuery(server.db, `select status, run_at, deadline_at, started_at, lease_token from agent_runs where id = $1`, [d]);
      if (row.status === 'queued' && row.started_at) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(row.status).toBe('queued');
    expect(row.lease_token).toBeNull();
    const end = new Date(Math.floor((now + 3_600_000) / 60_000) * 60_000).getTime();
    expect(Math.abs(new Date(row.run_at).getTime() - end)).toBeLessThan(2_000);
    // The deadline moved by the deferral, so it is still ahead of the time the run comes back.
    expect(new Date(row.deadline_at).getTime()).toBeGreaterThan(end);
    expect(await guardEvents(deferred, d)).toEqual([expect.objectContaining({ action: 'defer', ruleType: 'quiet_hours', until: new Date(end).toISOString() })]);
    expect(echoCalls('quiet-d')).toBe(0);
  });
});

describe('approval gates', () => {
  const gate = (extra: Partial<Extract<GuardrailRule, { type: 'approval_gate' }>> = {}): GuardrailRule => ({
    type: 'approval_gate',
    tools: ['tools__*'],
    on_reject: 'fail',
    ...extra,
  });

  async function paused(t: Tenant, x: unknown, after: FakeReply = textReply('done')) {
    const id = await run(t, [echo(x, `toolu_${x}`), after]);
    await waitFor(t, id, (s) => s === 'waiting');
    const [approval] = (await server.app.services.approvals.list(t.tenantId, { status: 'pending' })).nodes.filter((a) => a.runId === id);
    return { id, approval: approval! };
  }

  it('pauses the call: the run waits without a lease and the approval holds the call, its step and the cost so far', async () => {
    const t = await tenant([gate()]);
    const { id, approval } = await paused(t, 'wait-1');
    expect(approval).toMatchObject({ tool: 'tools__echo', toolUseId: 'toolu_wait-1', input: { x: 'wait-1' }, stepSeq: 2, status: 'pending', onReject: 'fail' });
    expect(approval.costSoFarUsdCents).toBeGreaterThan(0);
    const [row] = await adminQuery(server.db, `select status, lease_token, lease_owner from agent_runs where id = $1`, [id]);
    expect(row).toEqual({ status: 'waiting', lease_token: null, lease_owner: null });
    expect(echoCalls('wait-1')).toBe(0);
    expect((await guardEvents(t, id))[0]).toMatchObject({ action: 'pause', ruleType: 'approval_gate' });
  });

  it('approve: the run resumes with its deadline moved by the wait, the call runs once with the model’s input, and the run succeeds', async () => {
    const t = await tenant([gate()]);
    const { id, approval } = await paused(t, 'approve-1');
    const deadline = async () => new Date((await adminQuery(server.db, `select deadline_at from agent_runs where id = $1`, [id]))[0].deadline_at).getTime();
    const before = await deadline();
    await new Promise((r) => setTimeout(r, 400));
    await server.app.services.approvals.decide(t.actor, approval.id, 'approve', {});
    // The wait for a person does not count against the run's deadline.
    expect((await deadline()) - before).toBeGreaterThanOrEqual(400);
    expect((await waitFor(t, id, ended)).status).toBe('succeeded');
    expect(echoCalls('approve-1')).toBe(1);
    const events = await server.app.services.runs.events(t.tenantId, id);
    expect(events.filter((e) => e.type === 'approval_requested')).toHaveLength(1);
  });

  it('approve with edited input: the call runs with the edit, journaled as edited', async () => {
    const t = await tenant([gate()]);
    const { id, approval } = await paused(t, 'edit-1');
    await server.app.services.approvals.decide(t.actor, approval.id, 'approve', { input: { x: 'edited-1' } });
    expect((await waitFor(t, id, ended)).status).toBe('succeeded');
    expect(echoCalls('edit-1')).toBe(0);
    expect(echoCalls('edited-1')).toBe(1);
    const step = (await server.app.services.runs.steps(t.tenantId, id)).find((s) => s.kind === 'tool')!;
    expect(step.input).toMatchObject({ input: { x: 'edit-1' }, executedInput: { x: 'edited-1' }, edited: true });
  });

  it('reject with on_reject fail: the run fails guardrail_blocked and the call never runs', async () => {
    const t = await tenant([gate()]);
    const { id, approval } = await paused(t, 'reject-1');
    await server.app.services.approvals.decide(t.actor, approval.id, 'reject', { note: 'not today' });
    const done = await waitFor(t, id, ended);
    expect(done).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    expect(done.failureDetail).toContain('not today');
    expect(echoCalls('reject-1')).toBe(0);
  });

  it('reject with on_reject inform_model: the model gets an error result and carries on', async () => {
    const t = await tenant([gate({ on_reject: 'inform_model' })]);
    const { id, approval } = await paused(t, 'inform-1', textReply('Understood, I will not.'));
    await server.app.services.approvals.decide(t.actor, approval.id, 'reject', { note: 'too risky' });
    const done = await waitFor(t, id, ended);
    expect(done.status).toBe('succeeded');
    expect(echoCalls('inform-1')).toBe(0);
    const lastRequest = fake.requestsTo('/v1/messages').at(-1)!.body as { messages: { role: string; content: any }[] };
    const toolResult = lastRequest.messages.at(-1)!.content[0];
    expect(toolResult).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_inform-1', is_error: true });
    expect(toolResult.content).toContain('too risky');
  });

  it('expiry rejects: an expired approval follows on_reject', async () => {
    const t = await tenant([gate({ expires_after_seconds: 1 })]);
    const { id, approval } = await paused(t, 'expire-1');
    expect(approval.expiresAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 1_100));
    await server.app.services.approvals.expire(t.tenantId, approval.id);
    expect(await waitFor(t, id, ended)).toMatchObject({ status: 'failed', failureCategory: 'guardrail_blocked' });
    expect((await server.app.services.approvals.get(t.tenantId, approval.id))!.status).toBe('expired');
    expect(echoCalls('expire-1')).toBe(0);
  });

  it('a worker that stops while a run waits loses nothing: another pool resumes it after the decision', async () => {
    const t = await tenant([gate()]);
    const { id, approval } = await paused(t, 'crash-1');
    await pool.stop(0);
    const other = new AgentPool(server.app, 2);
    await other.start();
    try {
      await server.app.services.approvals.decide(t.actor, approval.id, 'approve', {});
      expect((await waitFor(t, id, ended)).status).toBe('succeeded');
      expect(echoCalls('crash-1')).toBe(1);
      const owners = await adminQuery(server.db, `select detail->>'worker' as worker from agent_events where run_id = $1 and type in ('started', 'resumed') order by seq`, [id]);
      expect(new Set(owners.map((o) => o.worker))).toEqual(new Set([pool.owner, other.owner]));
    } finally {
      await other.stop(0);
      pool = new AgentPool(server.app, 4);
      await pool.start();
    }
  });

  it('replay after approval neither asks twice nor counts the rate limit twice', async () => {
    // Limit 1: if the resumed attempt counted the call again, the rate limit would refuse it.
    const t = await tenant([{ type: 'rate_limit', tool: 'tools__echo', max_calls: 1, window_seconds: 600, scope: 'run' }, gate()]);
    const { id, approval } = await paused(t, 'replay-1');
    await server.app.services.approvals.decide(t.actor, approval.id, 'approve', {});
    expect((await waitFor(t, id, ended)).status).toBe('succeeded');
    expect(echoCalls('replay-1')).toBe(1);
    const [{ n }] = await adminQuery(server.db, `select count(*)::int as n from approvals where run_id = $1`, [id]);
    expect(n).toBe(1);
    expect((await guardEvents(t, id)).map((e) => e.action)).toEqual(['pause', 'allow']);
  });
});
