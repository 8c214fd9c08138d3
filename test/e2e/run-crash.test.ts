import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyring } from '../../src/platform/crypto';
import { SCOPES } from '../../src/modules/accounts/scopes';
import { startTestServer, type TestServer } from '../support/app';
import { startWorkerProcess, stopProcess } from '../support/runlane-process';
import { startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic } from '../fakes/anthropic';
import { startFakeMcpServer, type FakeMcpServer } from '../fakes/mcp-server';

// Real worker processes: one is killed (SIGKILL) mid-run and another finishes the run after the
// lease expires without repeating completed tool calls; one is frozen (SIGSTOP) past its lease
// and, thawed, can write nothing.
const masterKey = randomBytes(32);
let api: TestServer;
let fake: FakeAnthropic;
let mcp: FakeMcpServer;
const children = new Set<ChildProcess>();
let n = 0;

async function startWorker(): Promise<ChildProcess> {
  const { child } = await startWorkerProcess({
    databaseUrl: api.db.appUrl,
    masterKey,
    env: {
      ANTHROPIC_BASE_URL: fake.url,
      RUNLANE_OUTBOUND_ALLOW_HTTP: '1',
      RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1',
      RUNLANE_RUN_LEASE_SECONDS: '3',
      RUNLANE_RUN_RENEW_MS: '1000',
      RUNLANE_RUN_POLL_MS: '200',
      RUNLANE_APP_PROBE_INTERVAL_SECONDS: '3600',
      WORKER_SLOTS: '2',
    },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out; last: ${JSON.stringify(v).slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function tenant() {
  const t = await api.tenant();
  const actor = { tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-crash-${++n}-${'0'.repeat(20)}`;
  fake.setKeyBehaviour(key, 'valid');
  await api.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Use the tools.' });
  await api.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  await api.app.services.apps.register(actor, { slug: 'box', displayName: 'Box', mcpServerUrl: mcp.url, auth: { type: 'none' } });
  await api.app.services.apps.update(actor, 'box', { enabledTools: ['echo'] });
  return { ...t, actor, key };
}

const echoCalls = (marker: string) => mcp.calls.filter((c) => c.args.marker === marker).length;
const messagesOf = (key: string) => fake.requestsTo('/v1/messages').filter((r) => r.apiKey === key).length;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  mcp = await startFakeMcpServer({ stateful: false, json: true, tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
  api = await startTestServer({
    redis: true,
    keyring: keyring(masterKey),
    env: { RUNLANE_OUTBOUND_ALLOW_HTTP: '1', RUNLANE_OUTBOUND_ALLOW_PRIVATE: '1', ANTHROPIC_BASE_URL: fake.url },
  });
}, 60_000);

afterAll(async () => {
  await Promise.all([...children].map((c) => stopProcess(c, 'SIGKILL')));
  await api?.close();
  await mcp?.close();
  await fake?.close();
});

describe('a worker crash in the middle of a run', () => {
  it('SIGKILL: another worker finishes after the lease expires and repeats no completed tool call', async () => {
    const t = await tenant();
    fake.script(t.key, [
      toolUseReply('box__echo', { marker: 'kill', n: 1 }, { id: 'toolu_k1' }),
      toolUseReply('box__echo', { marker: 'kill', n: 2 }, { id: 'toolu_k2' }),
      'hang',
    ]);
    const first = await startWorker();
    const { run } = await api.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'go' } });
    await until(() => api.app.services.runs.steps(t.tenantId, run.id), (steps) => steps.length === 4);
    await until(async () => messagesOf(t.key), (count) => count === 3);
    await stopProcess(first, 'SIGKILL');
    fake.script(t.key, [textReply('Finished after the crash.')]);
    const second = await startWorker();
    const done = await until(() => api.app.services.runs.get(t.tenantId, run.id), (r) => r.status === 'succeeded', 30_000);
    expect(done.attempts).toBe(2);
    expect(echoCalls('kill')).toBe(2);
    expect(messagesOf(t.key)).toBe(4);
    const steps = await api.app.services.runs.steps(t.tenantId, run.id);
    expect(steps.map((s) => s.seq)).toEqual([1, 2, 3, 4, 5]);
    await stopProcess(second, 'SIGTERM');
  }, 90_000);

  it('SIGSTOP past the lease: the frozen worker, thawed, writes nothing', async () => {
    const t = await tenant();
    // The frozen worker's model call is answered while it is frozen; it reads the answer on thaw.
    fake.script(t.key, [{ delayMs: 5_000, then: toolUseReply('box__echo', { marker: 'frozen' }, { id: 'toolu_f1' }) }, textReply('Done by the second worker.')]);
    const frozen = await startWorker();
    const { run } = await api.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'go' } });
    await until(async () => messagesOf(t.key), (count) => count === 1);
    frozen.kill('SIGSTOP');
    const other = await startWorker();
    const done = await until(() => api.app.services.runs.get(t.tenantId, run.id), (r) => r.status === 'succeeded', 30_000);
    // Let the delayed answer reach the frozen worker's socket before it thaws.
    await new Promise((r) => setTimeout(r, 5_500));
    const before = {
      steps: await api.app.services.runs.steps(t.tenantId, run.id),
      events: await api.app.services.runs.events(t.tenantId, run.id),
    };
    frozen.kill('SIGCONT');
    await new Promise((r) => setTimeout(r, 3_000));
    const after = {
      run: await api.app.services.runs.get(t.tenantId, run.id),
      steps: await api.app.services.runs.steps(t.tenantId, run.id),
      events: await api.app.services.runs.events(t.tenantId, run.id),
    };
    expect(done.attempts).toBe(2);
    expect(after.run.status).toBe('succeeded');
    expect(after.run.output).toMatchObject({ text: 'Done by the second worker.' });
    expect(after.steps).toEqual(before.steps);
    expect(after.events.map((e) => e.type)).toEqual(before.events.map((e) => e.type));
    expect(echoCalls('frozen')).toBe(0);
    await stopProcess(other, 'SIGTERM');
    await stopProcess(frozen, 'SIGTERM');
  }, 90_000);
});
