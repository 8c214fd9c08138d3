import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyring } from '../../src/platform/crypto';
import { SCOPES } from '../../src/modules/accounts/scopes';
import { startTestServer, type TestServer } from '../support/app';
import { adminQuery } from '../support/database';
import { startWorkerProcess, stopProcess } from '../support/runlane-process';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../fakes/mcp-server';

// Two real worker processes share one tenant-wide rate limit through Redis: of 14 runs that each
// call the tool once, exactly max_calls calls happen and every other run is refused, whichever
// process made the call.
const RUNS = 14;
const MAX_CALLS = 5;
const masterKey = randomBytes(32);
let api: TestServer;
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  fake = await startFakeAnthropic();
  mcp = await startFakeMcpServer({ stateful: true, json: false, tools: [{ name: 'echo', description: 'Echoes', inputSchema: { type: 'object' } }] });
  api = await startTestServer({
    redis: true,
    keyring: keyring(masterKey),
    env: { ANTHROPIC_BASE_URL: fake.url, RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1' },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => stopProcess(w, 'SIGKILL')));
  await api?.close();
  await mcp?.close();
  await fake?.close();
});

describe('a rate limit shared by two worker processes', () => {
  it(`allows ${MAX_CALLS} calls across both and refuses every call past them`, async () => {
    const t = await api.tenant();
    const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
    const key = `sk-ant-api03-shared-${'0'.repeat(24)}`;
    fake.setKeyBehaviour(key, 'valid');
    // Each run: one tool call (answered after a pause, so both workers hold runs at once), then text.
    fake.respond(key, (request) => {
      const last = request.messages.at(-1)!;
      const answered = Array.isArray(last.content) && last.content.some((b: any) => b?.type === 'tool_result');
      return answered ? textReply('done') : { delayMs: 50, then: toolUseReply('tools__echo', { shared: true }) };
    });
    await api.app.services.agentConfigs.put(actor, 'custom', {
      systemPrompt: 'Call echo once.',
      guardrails: [{ type: 'rate_limit', tool: 'tools__echo', max_calls: MAX_CALLS, window_seconds: 600, scope: 'tenant' }],
    });
    await api.app.services.agentConfigs.setByokKey(actor, 'custom', key);
    await api.app.services.apps.register(actor, { slug: 'tools', displayName: 'Tools', mcpServerUrl: mcp.url, auth: { type: 'none' } });
    await api.app.services.apps.update(actor, 'tools', { enabledTools: ['echo'] });

    const env = { ANTHROPIC_BASE_URL: fake.url, WORKER_SLOTS: '4', RUNLANE_RUN_POLL_MS: '200', RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1' };
    for (const _ of [1, 2]) workers.push((await startWorkerProcess({ databaseUrl: api.db.appUrl, masterKey, env })).child);
    await Promise.all(Array.from({ length: RUNS }, (_, i) => api.app.services.runs.enqueue(actor, 'custom', { input: { n: i } })));

    for (const until = Date.now() + 60_000; ; ) {
      const [{ open }] = await adminQuery(api.db, `select count(*)::int as open from agent_runs where status not in ('succeeded', 'failed', 'cancelled')`);
      if (open === 0) break;
      if (Date.now() > until) throw new Error(`${open} runs still open`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const outcomes = await adminQuery(api.db, `select status, failure_category, count(*)::int as n from agent_runs group by 1, 2 order by 1`);
    expect(outcomes).toEqual([
      { status: 'failed', failure_category: 'guardrail_blocked', n: RUNS - MAX_CALLS },
      { status: 'succeeded', failure_category: null, n: MAX_CALLS },
    ]);
    expect(mcp.calls.filter((c) => c.name === 'echo')).toHaveLength(MAX_CALLS);
    // Both processes decided calls: the limit is theirs together, not each one's.
    const deciders = await adminQuery(
      api.db,
      `select distinct s.detail->>'worker' as worker
         from agent_events g join agent_events s on s.run_id = g.run_id and s.type in ('started', 'resumed')
        where g.type = 'guardrail'`,
    );
    expect(deciders).toHaveLength(2);
  }, 120_000);
});
