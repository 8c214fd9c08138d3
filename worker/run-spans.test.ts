import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/app';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../test/fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../test/fakes/mcp-server';
import { startFakeOtlpCollector, type CollectedSpan, type FakeOtlpCollector } from '../test/fakes/otlp-collector';
import { SCOPES } from '../src/modules/accounts/scopes';
import { AgentPool } from './agent-pool';

// With OTEL_EXPORTER_OTLP_ENDPOINT set, each run attempt is exported as GenAI spans to a local
// OTLP/HTTP collector: invoke_agent → chat / execute_tool children, with tokens and outcomes and
// without prompts, tool arguments or keys.
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
let collector: FakeOtlpCollector;
let server: TestServer;
let pool: AgentPool;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  collector = await startFakeOtlpCollector();
  mcp = await startFakeMcpServer({ stateful: true, json: false, tools: [{ name: 'echo', description: 'Echoes', inputSchema: { type: 'object', properties: { x: { type: 'string' } } } }] });
  server = await startTestServer({
    env: {
      ANTHROPIC_BASE_URL: fake.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      RUNLANE_RUN_POLL_MS: '100',
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
    },
  });
  pool = new AgentPool(server.app, 2);
  await pool.start();
});
afterAll(async () => {
  await pool?.stop(0);
  await server?.close();
  await mcp?.close();
  await fake?.close();
  await collector?.close();
});

async function runToEnd(body: Record<string, unknown>, script: Parameters<FakeAnthropic['script']>[1]) {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-spans-${t.tenantId.slice(0, 8)}-${'0'.repeat(20)}`;
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Be brief.', model: 'claude-sonnet-4-6' });
  fake.setKeyBehaviour(key, 'valid');
  await server.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  await server.app.services.apps.register(actor, { slug: 'tools', displayName: 'Tools', mcpServerUrl: mcp.url, auth: { type: 'none' } });
  await server.app.services.apps.update(actor, 'tools', { enabledTools: ['echo'] });
  fake.script(key, script);
  const { run } = await server.app.services.runs.enqueue(actor, 'custom', body);
  for (const until = Date.now() + 10_000; ; ) {
    const current = await server.app.services.runs.get(t.tenantId, run.id);
    if (current && ['succeeded', 'failed', 'cancelled'].includes(current.status)) break;
    if (Date.now() > until) throw new Error('run did not end');
    await new Promise((r) => setTimeout(r, 50));
  }
  await server.app.tracing.flush();
  const root = collector.spans.find((s) => s.attributes['runlane.run.id'] === run.id)!;
  const children = collector.spans.filter((s) => s.traceId === root?.traceId && s.parentSpanId === root.spanId);
  return { root, children, key };
}

const names = (spans: CollectedSpan[]) => spans.map((s) => s.name).sort();

describe('GenAI spans of a run', () => {
  it('exports invoke_agent with a chat span per model call and an execute_tool span per tool call', async () => {
    const secretArg = 'argument-that-must-not-leak';
    const { root, children, key } = await runToEnd({ input: { prompt: 'prompt-that-must-not-leak' } }, [
      toolUseReply('tools__echo', { x: secretArg }, { id: 'toolu_span_1', usage: { input_tokens: 120, output_tokens: 30, cache_read_input_tokens: 7 } }),
      textReply('Done.', { usage: { input_tokens: 200, output_tokens: 10 } }),
    ]);
    expect(root).toMatchObject({
      name: 'invoke_agent custom',
      parentSpanId: '',
      attributes: { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.agent.name': 'custom', 'runlane.run.attempt': 1, 'runlane.run.outcome': 'succeeded' },
      resource: { 'service.name': 'runlane' },
    });
    expect(names(children)).toEqual(['chat claude-sonnet-4-6', 'chat claude-sonnet-4-6', 'execute_tool tools__echo']);
    const firstChat = children.find((s) => s.attributes['gen_ai.response.finish_reasons']?.toString() === 'tool_use');
    expect(firstChat!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'anthropic',
      'gen_ai.request.model': 'claude-sonnet-4-6',
      'gen_ai.response.finish_reasons': ['tool_use'],
      'gen_ai.usage.input_tokens': 120,
      'gen_ai.usage.output_tokens': 30,
      'gen_ai.usage.cache_read.input_tokens': 7,
    });
    expect(children.find((s) => s.name.startsWith('execute_tool'))!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'tools__echo',
      'gen_ai.tool.call.id': 'toolu_span_1',
    });
    const exported = collector.bodies.join('\n');
    for (const secret of [key, secretArg, 'prompt-that-must-not-leak', 'Be brief.']) expect(exported).not.toContain(secret);
  });

  it('marks a failed attempt with its failure category and makes no chat span when the budget stops the run first', async () => {
    const { root, children } = await runToEnd({ input: { prompt: 'Hello' }, budgetUsdCents: 0.0001 }, [textReply('never')]);
    expect(root.attributes).toMatchObject({ 'runlane.run.outcome': 'failed', 'error.type': 'budget_exhausted' });
    expect(root.status.code).toBe(2);
    expect(children).toEqual([]);
  });
});
