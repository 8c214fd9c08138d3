import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../test/support/app';
import { adminQuery } from '../test/support/database';
import { anthropicErrors, startFakeAnthropic, textReply, toolUseReply, type FakeAnthropic, type FakeReply } from '../test/fakes/anthropic';
import { eventually, restClient, uploadWorkspace } from '../test/support/workflows';
import { SCOPES } from '../src/modules/accounts/scopes';
import type { AgentConfigInput } from '../src/modules/configs/agent-config.service';
import { AgentPool } from './agent-pool';
import { WorkflowBridge } from './workflow-bridge';

// Where workflows and agent runs meet (issue 8), end to end in one process: the API, the built-in
// agent pool, the workflow bridge, a REST worker driven by hand through /worker/*, the fake
// Anthropic API, and the real database.
const WORKSPACE = `
actions:
  produce:
    type: script
    script: "echo produce"
  summarise:
    type: agent
    blueprint: custom
    prompt: "Summarise {{ input.topic }} given {{ a.output.n }}"
  unconfigured:
    type: agent
    blueprint: contact_deduper
    prompt: "Dedupe {{ input.topic }}"
  consume:
    type: script
    script: "echo {{ input.summary }}"
    input:
      summary: { type: string, required: true }
  double:
    type: script
    script: "echo $(( {{ input.n }} * 2 ))"
    input:
      n: { type: integer, required: true }
tasks:
  pipeline:
    input:
      topic: { type: string, required: true }
    flow:
      a:
        action: produce
      think:
        action: summarise
        depends_on: [a]
        input: { topic: "{{ input.topic }}", n: "{{ a.output.n }}" }
      c:
        action: consume
        depends_on: [think]
        input: { summary: "{{ think.output.text }}", turns: "{{ think.output.turns }}" }
  tolerant:
    input:
      topic: { type: string, required: true }
    flow:
      think:
        action: unconfigured
        input: { topic: "{{ input.topic }}" }
      c:
        action: consume
        depends_on: [think]
        continue_on_failure: true
        input: { summary: "no summary" }
`;

let fake: FakeAnthropic;
let server: TestServer;
let pool: AgentPool;
let bridge: WorkflowBridge;
let keyCounter = 0;

beforeAll(async () => {
  fake = await startFakeAnthropic();
  server = await startTestServer({ env: { ANTHROPIC_BASE_URL: fake.url, RUNLANE_RUN_POLL_MS: '100' } });
  pool = new AgentPool(server.app, 4);
  await pool.start();
  bridge = new WorkflowBridge(server.app, { tickMs: 100, batchSize: 50 });
  bridge.start();
});
afterAll(async () => {
  await bridge?.stop();
  await pool?.stop(0);
  await server?.close();
  await fake?.close();
});

type Tenant = Awaited<ReturnType<typeof tenant>>;

/** A tenant with a `custom` config (and BYOK key), the workspace `tools-ws`, and a registered REST worker. */
async function tenant(config: AgentConfigInput = {}, script: FakeReply[] = []) {
  const t = await server.tenant();
  const actor = { tenantId: t.tenantId, accountId: t.accountId, name: 'owner', scopes: new Set<string>(SCOPES) };
  const key = `sk-ant-api03-wf-${++keyCounter}-${'0'.repeat(20)}`;
  await uploadWorkspace(server.url, t.token, 'tools-ws', { '.workflows/flow.yaml': WORKSPACE });
  await server.app.services.agentConfigs.put(actor, 'custom', { systemPrompt: 'Be brief.', model: 'claude-sonnet-4-6', ...config });
  fake.setKeyBehaviour(key, 'valid');
  fake.script(key, script);
  await server.app.services.agentConfigs.setByokKey(actor, 'custom', key);
  const api = restClient(server.url, t.token);
  const registered = await api.post('/worker/register', { name: 'w', tags: ['script'] });
  expect(registered.status).toBe(200);
  return { ...t, actor, key, api, workerId: registered.body.worker_id as string };
}

async function execute(t: Tenant, task: string, input: unknown): Promise<string> {
  const res = await t.api.post(`/api/workspaces/tools-ws/tasks/${task}/execute`, { input });
  expect(res.status).toBe(200);
  return res.body.job_id as string;
}

const job = async (t: Tenant, id: string) => (await t.api.get(`/api/jobs/${id}`)).body;
const stepOf = async (t: Tenant, id: string, name: string) => (await job(t, id)).steps.find((s: any) => s.step_name === name);
const run = async (t: Tenant, id: string) => (await t.api.get(`/api/v1/agents/custom/runs/${id}`)).body;

/** Claims the next ready step as the tenant's REST worker (null when there is none), and starts it. */
async function claim(t: Tenant): Promise<any | null> {
  const claimed = await t.api.post('/worker/jobs/claim', { worker_id: t.workerId, tags: ['script'] });
  expect(claimed.status).toBe(200);
  if (!claimed.body.job_id) return null;
  expect((await t.api.post(`/worker/jobs/${claimed.body.job_id}/steps/${claimed.body.step_name}/start`, { worker_id: t.workerId })).status).toBe(200);
  return claimed.body;
}

async function complete(t: Tenant, jobId: string, step: string, body: Record<string, unknown>) {
  const res = await t.api.post(`/worker/jobs/${jobId}/steps/${step}/complete`, body);
  expect(res.status).toBe(200);
}

async function runStatus(t: Tenant, id: string, done: (status: string) => boolean, timeoutMs = 10_000) {
  return eventually(async () => {
    const current = await server.app.services.runs.find(t.tenantId, id);
    return current && done(current.status) ? current : null;
  }, timeoutMs);
}
const ended = (s: string) => ['succeeded', 'failed', 'cancelled'].includes(s);
const requestsOf = (t: Tenant) => fake.requestsTo('/v1/messages').filter((r) => r.apiKey === t.key).map((r) => r.body as any);
const jobsOfRun = (runId: string) => adminQuery(server.db, `select id, source_type, source_id, status from jobs where source_type = 'run' and source_id like $1`, [`${runId}:%`]);

describe('agent steps of a workflow run as agent runs', () => {
  it('a → think (agent) → c: the run gets the rendered prompt, the step completes with its output, and c renders from it', async () => {
    const t = await tenant({}, [textReply('Rust is fast and safe.')]);
    const jobId = await execute(t, 'pipeline', { topic: 'Rust' });

    const a = await claim(t);
    expect(a).toMatchObject({ job_id: jobId, step_name: 'a', action_name: 'produce' });
    await complete(t, jobId, 'a', { output: { n: 7 }, exit_code: 0, error: null });

    const attached = await eventually(async () => {
      const step = await stepOf(t, jobId, 'think');
      return step.run_id ? step : null;
    });
    expect(attached).toMatchObject({ action_type: 'agent', runner: 'none', input: { topic: 'Rust', n: 7, prompt: 'Summarise Rust given 7' } });
    const queued = await run(t, attached.run_id);
    expect(queued).toMatchObject({ agent_blueprint: 'custom', input: { topic: 'Rust', n: 7, prompt: 'Summarise Rust given 7' } });
    const [row] = await adminQuery(server.db, `select idempotency_key from agent_runs where id = $1`, [attached.run_id]);
    expect(row.idempotency_key).toBe(`job:${jobId}:think`);

    const done = await eventually(async () => {
      const step = await stepOf(t, jobId, 'think');
      return step.status === 'completed' ? step : null;
    });
    const finished = await run(t, attached.run_id);
    expect(finished.status).toBe('succeeded');
    expect(done.output).toEqual(finished.output);
    expect(done.output).toMatchObject({ text: 'Rust is fast and safe.', turns: 1, stop_reason: 'end_turn' });
    const [request] = requestsOf(t);
    expect(request.messages[0]).toEqual({ role: 'user', content: 'Summarise Rust given 7' });

    const c = await eventually(() => claim(t));
    expect(c).toMatchObject({ job_id: jobId, step_name: 'c', action_name: 'consume', input: { summary: 'Rust is fast and safe.', turns: 1 } });
    expect(c.action_spec.script).toBe('echo Rust is fast and safe.');
    await complete(t, jobId, 'c', { output: { printed: true }, exit_code: 0, error: null });

    const over = await job(t, jobId);
    expect(over).toMatchObject({ status: 'completed', output: { c: { printed: true } } });
    // One run for the step, however many bridge rounds saw it.
    const runs = await adminQuery(server.db, `select id from agent_runs where tenant_id = $1`, [t.tenantId]);
    expect(runs.map((r) => r.id)).toEqual([attached.run_id]);
  });

  it('a run that fails (auth_failed) fails its step with the reason, skips what depends on it, and fails the job', async () => {
    const t = await tenant({}, [{ error: anthropicErrors.authentication() }]);
    const jobId = await execute(t, 'pipeline', { topic: 'Go' });
    const a = await claim(t);
    await complete(t, jobId, a.step_name, { output: { n: 1 }, exit_code: 0, error: null });

    const over = await eventually(async () => {
      const current = await job(t, jobId);
      return current.status === 'failed' ? current : null;
    });
    const think = over.steps.find((s: any) => s.step_name === 'think');
    expect(think.status).toBe('failed');
    expect(think.error_message).toMatch(/^Agent run failed: auth_failed/);
    expect((await run(t, think.run_id)).failure_category).toBe('auth_failed');
    expect(over.steps.find((s: any) => s.step_name === 'c').status).toBe('skipped');
    expect(over.error_message).toContain('think');
    expect(await claim(t)).toBeNull();
  });

  it('a run that cannot be enqueued (no config for the blueprint) fails the step; a continue_on_failure step still runs', async () => {
    const t = await tenant();
    const jobId = await execute(t, 'tolerant', { topic: 'contacts' });
    const think = await eventually(async () => {
      const step = await stepOf(t, jobId, 'think');
      return step.status === 'failed' ? step : null;
    });
    expect(think.run_id).toBeNull();
    expect(think.error_message).toMatch(/^The agent run could not start: /);
    expect(think.error_message).toMatch(/config/i);

    const c = await eventually(() => claim(t));
    expect(c).toMatchObject({ job_id: jobId, step_name: 'c', input: { summary: 'no summary' } });
    await complete(t, jobId, 'c', { output: { ok: true }, exit_code: 0, error: null });
    // think failed without continue_on_failure of its own, so the job fails although c ran.
    const over = await job(t, jobId);
    expect(over.status).toBe('failed');
    expect(over.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['think', 'failed'],
      ['c', 'completed'],
    ]);
  });

  it('cancelling the job cancels its agent step’s running run', async () => {
    const t = await tenant({}, ['hang']);
    const jobId = await execute(t, 'pipeline', { topic: 'Zig' });
    const a = await claim(t);
    await complete(t, jobId, a.step_name, { output: { n: 3 }, exit_code: 0, error: null });
    const runId = await eventually(async () => (await stepOf(t, jobId, 'think')).run_id as string | null);
    await runStatus(t, runId, (s) => s === 'running');
    // The model call is in flight.
    await eventually(async () => requestsOf(t).length === 1);

    const cancelled = await t.api.post(`/api/jobs/${jobId}/cancel`);
    expect(cancelled.status).toBe(200);
    const stopped = await runStatus(t, runId, ended);
    expect(stopped).toMatchObject({ status: 'cancelled', failureCategory: 'cancelled' });
    expect(stopped.failureDetail).toContain('system:workflows');
    const over = await job(t, jobId);
    expect(over.status).toBe('cancelled');
    expect(over.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['a', 'completed'],
      ['think', 'cancelled'],
      ['c', 'cancelled'],
    ]);
    // The pool let go of the run's slot.
    await eventually(async () => pool.slotsInUse() === 0);
  });
});

describe('workspace actions as agent tools', () => {
  const TOOL = 'action__tools-ws__double';

  it('a call runs the action as a one-step job; the run waits without its lease, resumes with the output, and calls it once', async () => {
    const t = await tenant({ tools: ['action:tools-ws/double'] }, [
      toolUseReply(TOOL, { n: 21 }, { id: 'toolu_double_1' }),
      textReply('21 doubled is 42.'),
    ]);
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Double 21.' } });

    const waiting = await runStatus(t, queued.id, (s) => s === 'waiting' || ended(s));
    expect(waiting.status).toBe('waiting');
    const [lease] = await adminQuery(server.db, `select lease_token, lease_owner, lease_expires_at from agent_runs where id = $1`, [queued.id]);
    expect(lease).toEqual({ lease_token: null, lease_owner: null, lease_expires_at: null });
    const [pending] = await jobsOfRun(queued.id);
    expect(pending).toMatchObject({ source_type: 'run', source_id: `${queued.id}:2`, status: 'pending' });

    const [first] = requestsOf(t);
    expect(first.tools).toEqual([
      { name: TOOL, description: expect.any(String), input_schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } },
    ]);

    const claimed = await claim(t);
    expect(claimed).toMatchObject({ job_id: pending.id, workspace: 'tools-ws', step_name: 'action', action_name: 'double', action_type: 'script', input: { n: 21 } });
    expect(claimed.action_spec.script).toBe('echo $(( 21 * 2 ))');
    // Still waiting while the worker runs it.
    expect((await server.app.services.runs.find(t.tenantId, queued.id))!.status).toBe('waiting');
    await complete(t, pending.id, 'action', { output: { result: 42 }, exit_code: 0, error: null });

    const done = await runStatus(t, queued.id, ended);
    expect(done.failureDetail ?? null).toBeNull();
    expect(done).toMatchObject({ status: 'succeeded', output: { text: '21 doubled is 42.' } });
    const requests = requestsOf(t);
    expect(requests).toHaveLength(2);
    const toolResult = requests[1].messages.at(-1);
    expect(toolResult).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_double_1' }] });
    expect(toolResult.content[0].is_error).toBeUndefined();
    expect(JSON.parse(toolResult.content[0].content)).toEqual({ result: 42 });

    const jobs = await jobsOfRun(queued.id);
    expect(jobs).toHaveLength(1);
    const actionJob = await job(t, pending.id);
    expect(actionJob).toMatchObject({ status: 'completed', source_type: 'run', source_id: `${queued.id}:2`, output: { action: { result: 42 } } });
    const steps = (await server.app.services.runs.steps(t.tenantId, queued.id)).map((s) => [s.seq, s.kind, s.name, s.isError]);
    expect(steps).toEqual([
      [1, 'llm', 'claude-sonnet-4-6', false],
      [2, 'tool', TOOL, false],
      [3, 'llm', 'claude-sonnet-4-6', false],
    ]);
    const events = (await server.app.services.runs.events(t.tenantId, queued.id)).map((e) => e.type);
    expect(events).toEqual(expect.arrayContaining(['job_started', 'job_ended', 'succeeded']));
    expect(events.indexOf('job_started')).toBeLessThan(events.indexOf('job_ended'));
  });

  it('cancelling a run that waits on its action cancels the job; nobody runs it for a run that is gone', async () => {
    const t = await tenant({ tools: ['action:tools-ws/double'] }, [toolUseReply(TOOL, { n: 1 }, { id: 'toolu_cancel' })]);
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Double 1.' } });
    await runStatus(t, queued.id, (s) => s === 'waiting');
    const [pending] = await jobsOfRun(queued.id);
    await server.app.services.runs.cancel(t.actor, queued.id);
    const cancelled = await eventually(async () => ((await job(t, pending.id)).status === 'cancelled' ? job(t, pending.id) : null));
    expect(cancelled.steps[0].status).toBe('cancelled');
    expect(await claim(t)).toBeNull();
  });

  it('a run whose deadline passes while its action waits for a worker fails with timeout, and the job is cancelled', async () => {
    const t = await tenant({ tools: ['action:tools-ws/double'] }, [toolUseReply(TOOL, { n: 2 }, { id: 'toolu_deadline' })]);
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Double 2.' }, deadlineSeconds: 2 });
    await runStatus(t, queued.id, (s) => s === 'waiting');
    const [pending] = await jobsOfRun(queued.id);
    const failed = await runStatus(t, queued.id, ended, 15_000);
    expect(failed).toMatchObject({ status: 'failed', failureCategory: 'timeout' });
    const events = (await server.app.services.runs.events(t.tenantId, queued.id)).map((e) => e.type);
    expect(events).toContain('deadline_passed');
    await eventually(async () => (await job(t, pending.id)).status === 'cancelled');
  });

  it('input the action refuses is an error result for the model, not a failed run, and no job', async () => {
    const t = await tenant({ tools: ['action:tools-ws/double'] }, [
      toolUseReply(TOOL, { n: 'x' }, { id: 'toolu_bad_1' }),
      textReply('I could not double that.'),
    ]);
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Double x.' } });
    const done = await runStatus(t, queued.id, ended);
    expect(done.status).toBe('succeeded');
    const toolResult = requestsOf(t)[1].messages.at(-1).content[0];
    expect(toolResult).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_bad_1', is_error: true });
    expect(toolResult.content).toContain('must be an integer');
    expect(await jobsOfRun(queued.id)).toHaveLength(0);
  });

  it('a job that fails is an error result for the model, which carries on', async () => {
    const t = await tenant({ tools: ['action:tools-ws/double'] }, [
      toolUseReply(TOOL, { n: 5 }, { id: 'toolu_fail_1' }),
      textReply('The action failed.'),
    ]);
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Double 5.' } });
    await runStatus(t, queued.id, (s) => s === 'waiting');
    const claimed = await claim(t);
    expect(claimed).toMatchObject({ action_name: 'double', input: { n: 5 } });
    await complete(t, claimed.job_id, 'action', { output: null, exit_code: 2, error: null });

    const done = await runStatus(t, queued.id, ended);
    expect(done).toMatchObject({ status: 'succeeded', output: { text: 'The action failed.' } });
    const toolResult = requestsOf(t)[1].messages.at(-1).content[0];
    expect(toolResult).toMatchObject({ type: 'tool_result', tool_use_id: 'toolu_fail_1', is_error: true });
    expect(toolResult.content).toContain('double');
    expect(toolResult.content).toContain('failed');
    expect(toolResult.content).toContain('exited with code 2');
    expect(await jobsOfRun(queued.id)).toEqual([expect.objectContaining({ status: 'failed' })]);
  });

  it('a config naming an action no workspace defines fails the run with config_error before any model call', async () => {
    const t = await tenant({ tools: ['action:nope/missing'] });
    const { run: queued } = await server.app.services.runs.enqueue(t.actor, 'custom', { input: { prompt: 'Hi' } });
    const done = await runStatus(t, queued.id, ended);
    expect(done).toMatchObject({ status: 'failed', failureCategory: 'config_error' });
    expect(done.failureDetail).toContain('action:nope/missing');
    expect(requestsOf(t)).toHaveLength(0);
  });
});
