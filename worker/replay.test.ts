import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/app';
import { adminQuery } from '../test/support/database';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../test/fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../test/fakes/mcp-server';
import { SCOPES } from '../src/modules/accounts/scopes';
import { AgentPool } from './agent-pool';

// Durable replay: a run handed back mid-way (here by a worker shutting down) is finished by
// another pool that replays the journal instead of re-executing it; a journal that no longer
// matches the run's inputs fails it rather than diverging silently.
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
let server: TestServer;
let n = 0;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  mcp = await startFakeMcpServer({ stateful: false, json: true, tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
  server = await startTestServer({
    env: { ANTHROPIC_BASE_URL: fake.url, RUNLANE_RUN_POLL_MS: '100', RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1' },
  });
});
afterAll(async () => {
  await server?.close();
  await mcp?.close();
  await fake?.close();
});

async function setup() {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-replay-${++n}-${'0'.repeat(20)}`;
  fake.setKeyBehaviour(key, 'valid');
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'First prompt.' });
  await server.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  await server.app.services.apps.register(actor, { slug: 'box', displayName: 'Box', mcpServerUrl: mcp.url, auth: { type: 'none' } });
  await server.app.services.apps.update(actor, 'box', { enabledTools: ['echo'] });
  return { ...t, actor, key };
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const messagesOf = (key: string) => fake.requestsTo('/v1/messages').filter((r) => r.apiKey === key).length;
const echoCalls = (marker: string) => mcp.calls.filter((c) => c.args.marker === marker).length;

/** Runs the first part of a run on one pool, then stops that pool while the model call hangs. */
async function startAndAbandon(t: Awaited<ReturnType<typeof setup>>, marker: string, big = '') {
  fake.script(t.key, [toolUseReply('box__echo', { marker, big }, { id: `toolu_${marker}` }), 'hang']);
  const first = new AgentPool(server.app, 1);
  await first.start();
  const { run } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'go' } });
  await until(() => server.app.services.runs.steps(t.tenantId, run.id), (steps) => steps.length === 2);
  await until(async () => messagesOf(t.key), (count) => count === 2);
  await first.stop(0);
  const released = await server.app.services.runs.get(t.tenantId, run.id);
  expect(released.status).toBe('queued');
  return run.id;
}

describe('graceful shutdown', () => {
  it('lets a step finish within the grace period, and hands back a run that needs longer', async () => {
    const quick = await setup();
    const slow = await setup();
    fake.script(quick.key, [{ delayMs: 400, then: textReply('Quick.') }]);
    fake.script(slow.key, [{ delayMs: 10_000, then: textReply('Too slow.') }]);
    const pool = new AgentPool(server.app, 2);
    await pool.start();
    const a = (await server.app.services.runs.enqueue(quick.actor, 'custom', {})).run.id;
    const b = (await server.app.services.runs.enqueue(slow.actor, 'custom', {})).run.id;
    await until(async () => messagesOf(quick.key) + messagesOf(slow.key), (count) => count === 2);
    await pool.stop(1_500);
    expect(pool.slotsInUse()).toBe(0);
    expect((await server.app.services.runs.get(quick.tenantId, a)).status).toBe('succeeded');
    const handedBack = await server.app.services.runs.get(slow.tenantId, b);
    expect(handedBack.status).toBe('queued');
    expect((await server.app.services.runs.events(slow.tenantId, b)).map((e) => e.type)).toContain('released');
    await server.app.services.runs.cancel(slow.actor, b);
  });
});

describe('replay after a worker gives a run back', () => {
  it('replays journaled steps without re-executing them and finishes the run', async () => {
    const t = await setup();
    const id = await startAndAbandon(t, 'replay-1');
    expect(echoCalls('replay-1')).toBe(1);
    fake.script(t.key, [textReply('All done.')]);
    const second = new AgentPool(server.app, 1);
    await second.start();
    try {
      const run = await until(() => server.app.services.runs.get(t.tenantId, id), (r) => r.status === 'succeeded');
      expect(run.attempts).toBe(2);
      expect(run.output).toMatchObject({ text: 'All done.' });
    } finally {
      await second.stop(0);
    }
    // The tool ran once; the model was asked three times (tool use, the abandoned call, the answer).
    expect(echoCalls('replay-1')).toBe(1);
    expect(messagesOf(t.key)).toBe(3);
    const steps = await server.app.services.runs.steps(t.tenantId, id);
    expect(steps.map((s) => [s.seq, s.kind])).toEqual([[1, 'llm'], [2, 'tool'], [3, 'llm']]);
    const types = (await server.app.services.runs.events(t.tenantId, id)).map((e) => e.type);
    expect(types).toEqual(['queued', 'started', 'released', 'resumed', 'succeeded']);
  });

  it('fails config_error with a divergence event when the inputs of a journaled step changed', async () => {
    const t = await setup();
    const id = await startAndAbandon(t, 'diverge-1');
    await server.app.services.agentConfigs.put(t.actor, 'custom', { systemPrompt: 'A different prompt.' });
    const second = new AgentPool(server.app, 1);
    await second.start();
    try {
      const run = await until(() => server.app.services.runs.get(t.tenantId, id), (r) => r.status === 'failed');
      expect(run.failureCategory).toBe('config_error');
      expect(run.failureDetail).toMatch(/Replay diverged at step 1/);
    } finally {
      await second.stop(0);
    }
    const events = await server.app.services.runs.events(t.tenantId, id);
    expect(events.find((e) => e.type === 'divergence')?.detail).toMatchObject({ seq: 1, kind: 'llm' });
    expect(echoCalls('diverge-1')).toBe(1);
    expect(messagesOf(t.key)).toBe(2);
  });

  it('spills payloads over 8 KiB to agent_step_payloads and reads them back whole', async () => {
    const t = await setup();
    const big = 'x'.repeat(10_000);
    const id = await startAndAbandon(t, 'spill-1', big);
    const rows = await adminQuery(server.db, `select seq, part, length(body::text) as size from agent_step_payloads where run_id = $1 order by seq, part`, [id]);
    // The model's tool_use (step 1) carries the big argument too.
    expect(rows.map((r) => [r.seq, r.part])).toEqual([[1, 'output'], [2, 'input'], [2, 'output']]);
    const [step] = await adminQuery(server.db, `select input, output from agent_steps where run_id = $1 and seq = 2`, [id]);
    expect(step).toEqual({ input: null, output: null });
    const tool = (await server.app.services.runs.steps(t.tenantId, id)).find((s) => s.seq === 2)!;
    expect(JSON.stringify(tool.input)).toContain(big);
    await server.app.services.runs.cancel(t.actor, id);
  });
});
