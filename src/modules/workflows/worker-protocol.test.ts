import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { restClient, uploadWorkspace } from '../../../test/support/workflows';

// The worker protocol (/worker/*) and Strøm's job API through a real server and database.
const FLOW = `
actions:
  greet:
    type: script
    script: "echo Hello {{ input.name }}"
    input:
      name: { type: string, required: true }
  fail:
    type: script
    script: "exit 3"
  gpu-thing:
    type: script
    script: "nvidia-smi"
    tags: [gpu]
tasks:
  three:
    input:
      name: { type: string, default: World }
    flow:
      a:
        action: greet
        input: { name: "{{ input.name }}" }
      b:
        action: fail
        depends_on: [a]
      c:
        action: greet
        depends_on: [b]
        continue_on_failure: true
        input: { name: "{{ a.output.greeting }}" }
      d:
        action: greet
        depends_on: [b]
        input: { name: x }
  guarded:
    input:
      loud: { type: boolean, default: false }
    flow:
      maybe:
        action: greet
        when: "{{ input.loud }}"
        input: { name: loud }
      after:
        action: greet
        depends_on: [maybe]
        input: { name: after }
  broken:
    flow:
      first:
        action: greet
        input: { name: "{{ input.missing }}" }
      second:
        action: greet
        depends_on: [first]
        input: { name: y }
  gpu:
    flow:
      only:
        action: gpu-thing
`;

let server: TestServer;
let owner: { token: string; tenantId: string };

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  await uploadWorkspace(server.url, owner.token, 'default', { '.workflows/flow.yaml': FLOW });
});
afterAll(() => server?.close());

async function register(token = owner.token, tags = ['script']) {
  const res = await restClient(server.url, token).post('/worker/register', { name: 'w', tags });
  expect(res.status).toBe(200);
  return res.body.worker_id as string;
}

async function execute(task: string, input: unknown = {}) {
  const res = await restClient(server.url, owner.token).post(`/api/workspaces/default/tasks/${task}/execute`, { input });
  expect(res.status).toBe(200);
  return res.body.job_id as string;
}

const job = async (id: string) => (await restClient(server.url, owner.token).get(`/api/jobs/${id}`)).body;
const stepOf = async (id: string, name: string) => (await job(id)).steps.find((s: any) => s.step_name === name);

describe('the worker protocol (seed 001)', () => {
  it('runs a DAG: claim, start, logs, complete, promotion, continue_on_failure, cascade skip, terminal status and output', async () => {
    const api = restClient(server.url, owner.token);
    const workerId = await register();
    const jobId = await execute('three', { name: 'Ada' });
    expect((await job(jobId)).status).toBe('pending');
    expect((await stepOf(jobId, 'a')).status).toBe('ready');
    expect((await stepOf(jobId, 'b')).status).toBe('pending');

    const claimed = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({
      job_id: jobId,
      workspace: 'default',
      task_name: 'three',
      step_name: 'a',
      action_name: 'greet',
      action_type: 'script',
      action_image: null,
      runner: 'local',
      input: { name: 'Ada' },
    });
    // Templates in the action are rendered against the step's input at claim time.
    expect(claimed.body.action_spec.script).toBe('echo Hello Ada');
    expect(claimed.body).not.toHaveProperty('timeout_secs');

    // Nothing else is ready: the no-work body has every field null.
    const idle = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect(idle.body).toEqual({
      workspace: null,
      job_id: null,
      task_name: null,
      step_name: null,
      action_name: null,
      action_type: null,
      action_image: null,
      action_spec: null,
      input: null,
      runner: null,
    });

    expect((await api.post(`/worker/jobs/${jobId}/steps/a/start`, { worker_id: workerId })).status).toBe(200);
    expect((await job(jobId)).status).toBe('running');
    const logged = await api.post(`/worker/jobs/${jobId}/logs`, {
      step_name: 'a',
      lines: [
        { ts: '2025-02-12T10:56:45.123Z', stream: 'stdout', line: 'Hello Ada' },
        { ts: '2025-02-12T10:56:45.456Z', stream: 'stderr', line: 'warning: unused var' },
      ],
    });
    expect(logged.status).toBe(200);
    expect((await api.post(`/worker/jobs/${jobId}/steps/a/complete`, { output: { greeting: 'Hi Ada' }, exit_code: 0, error: null })).status).toBe(200);
    expect((await stepOf(jobId, 'a')).status).toBe('completed');

    const b = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect(b.body.step_name).toBe('b');
    await api.post(`/worker/jobs/${jobId}/steps/b/start`, { worker_id: workerId });
    await api.post(`/worker/jobs/${jobId}/steps/b/complete`, { output: null, exit_code: 3, error: null });
    const failedB = await stepOf(jobId, 'b');
    expect(failedB.status).toBe('failed');
    expect(failedB.error_message).toBe('Process exited with code 3');
    // d depends on the failed b without continue_on_failure: skipped at once. c tolerates it.
    expect((await stepOf(jobId, 'd')).status).toBe('skipped');

    const c = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect(c.body).toMatchObject({ step_name: 'c', input: { name: 'Hi Ada' } });
    await api.post(`/worker/jobs/${jobId}/steps/c/start`, { worker_id: workerId });
    await api.post(`/worker/jobs/${jobId}/steps/c/complete`, { output: { done: true }, exit_code: 0, error: null });

    // b failed without continue_on_failure, so the job failed although c ran.
    const ended = await job(jobId);
    expect(ended.status).toBe('failed');
    expect(ended.completed_at).not.toBeNull();

    const logs = await api.get(`/api/jobs/${jobId}/logs`);
    const lines = (logs.body.logs as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.step === 'a')).toEqual([
      { ts: '2025-02-12T10:56:45.123Z', stream: 'stdout', step: 'a', line: 'Hello Ada', cursor: expect.any(String) },
      { ts: '2025-02-12T10:56:45.456Z', stream: 'stderr', step: 'a', line: 'warning: unused var', cursor: expect.any(String) },
    ]);
    expect(lines.some((l) => l.step === '_server' && l.line.includes('step b failed'))).toBe(true);
  });

  it('completes a job whose failures are all tolerated, with the outputs of its leaves', async () => {
    const api = restClient(server.url, owner.token);
    const workerId = await register();
    const jobId = await execute('guarded', { loud: true });
    for (const name of ['maybe', 'after']) {
      const claimed = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
      expect(claimed.body.step_name).toBe(name);
      await api.post(`/worker/jobs/${jobId}/steps/${name}/complete`, { output: { step: name }, exit_code: 0 });
    }
    const ended = await job(jobId);
    expect(ended.status).toBe('completed');
    expect(ended.output).toEqual({ after: { step: 'after' } });
  });

  it('skips a step whose `when` is falsy, and everything that depends only on it', async () => {
    const jobId = await execute('guarded', { loud: false });
    const ended = await job(jobId);
    expect(ended.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['maybe', 'skipped'],
      ['after', 'skipped'],
    ]);
    expect(ended.status).toBe('completed');
  });

  it('fails a step whose templates do not render with a 422, and moves the job on', async () => {
    const api = restClient(server.url, owner.token);
    const workerId = await register();
    const jobId = await execute('broken');
    const res = await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('UNPROCESSABLE_ENTITY');
    expect(res.body.message).toContain('missing');
    const ended = await job(jobId);
    expect(ended.status).toBe('failed');
    expect(ended.steps.map((s: any) => s.status)).toEqual(['failed', 'skipped']);
    expect(ended.steps[0].error_message).toMatch(/Template rendering failed/);
  });

  it('hands a step only to a worker holding all of its required tags', async () => {
    const api = restClient(server.url, owner.token);
    const plain = await register(owner.token, ['script']);
    const gpu = await register(owner.token, ['script', 'gpu']);
    const jobId = await execute('gpu');
    expect((await api.post('/worker/jobs/claim', { worker_id: plain, tags: ['script'] })).body.job_id).toBeNull();
    const claimed = await api.post('/worker/jobs/claim', { worker_id: gpu, tags: ['script', 'gpu'] });
    expect(claimed.body).toMatchObject({ job_id: jobId, step_name: 'only' });
    await api.post(`/worker/jobs/${jobId}/steps/only/complete`, { output: null, exit_code: 0 });
  });

  it('lets cancellation reach a running step through /cancelled, and ignores its late result', async () => {
    const api = restClient(server.url, owner.token);
    const workerId = await register();
    const jobId = await execute('three');
    await api.post('/worker/jobs/claim', { worker_id: workerId, tags: ['script'] });
    expect((await api.get(`/worker/jobs/${jobId}/cancelled`)).body).toEqual({ cancelled: false });
    const cancelled = await api.post(`/api/jobs/${jobId}/cancel`);
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    expect((await api.get(`/worker/jobs/${jobId}/cancelled`)).body).toEqual({ cancelled: true });
    expect((await api.post(`/worker/jobs/${jobId}/steps/a/complete`, { output: { late: true }, exit_code: 0 })).status).toBe(200);
    const ended = await job(jobId);
    expect(ended.status).toBe('cancelled');
    expect(ended.steps.map((s: any) => s.status)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled']);
    expect((await api.post(`/api/jobs/${jobId}/cancel`)).status).toBe(409);
  });

  it('answers garbage, wrong tenants and wrong scopes with typed errors', async () => {
    const api = restClient(server.url, owner.token);
    expect((await restClient(server.url, null).post('/worker/register', { name: 'x', tags: [] })).status).toBe(401);
    expect((await restClient(server.url, 'rl_garbage').post('/worker/register', { name: 'x', tags: [] })).status).toBe(401);
    expect((await api.post('/worker/register', { name: 'x' })).body).toMatchObject({ status: 400, error: 'INVALID_REQUEST' });
    expect((await api.post('/worker/heartbeat', { worker_id: 'nope' })).status).toBe(400);
    expect((await api.post('/worker/heartbeat', { worker_id: '00000000-0000-4000-8000-000000000000' })).status).toBe(404);
    expect((await api.post('/worker/jobs/not-a-uuid/logs', { lines: [] })).status).toBe(404);

    const workerId = await register();
    const jobId = await execute('three');
    expect((await api.post(`/worker/jobs/${jobId}/logs`, { step_name: 'a', lines: [{ stream: 'llm', line: 'x' }] })).status).toBe(400);
    expect((await api.post(`/worker/jobs/${jobId}/steps/a/complete`, { exit_code: 'one' })).status).toBe(400);
    expect((await api.post(`/worker/jobs/${jobId}/steps/nope/start`, { worker_id: workerId })).status).toBe(409);

    // Another tenant's token sees neither the job nor the worker.
    const other = await server.tenant();
    const stranger = restClient(server.url, other.token);
    expect((await stranger.post('/worker/heartbeat', { worker_id: workerId })).status).toBe(404);
    expect((await stranger.get(`/api/jobs/${jobId}`)).status).toBe(404);
    expect((await stranger.post(`/worker/jobs/${jobId}/logs`, { step_name: 'a', lines: [{ stream: 'stdout', line: 'x' }] })).status).toBe(404);
    const theirWorker = await register(other.token);
    expect((await stranger.post('/worker/jobs/claim', { worker_id: theirWorker, tags: ['script'] })).body.job_id).toBeNull();

    // A token without worker:execute cannot speak the protocol.
    const created = await gql(server.url, owner.token, `mutation { createAccount(input: {name: "reader", scopes: ["workflows:read"]}) { ... on AccountWithToken { token } } }`);
    const reader = restClient(server.url, created.body.data.createAccount.token);
    const refused = await reader.post('/worker/register', { name: 'x', tags: [] });
    expect(refused).toMatchObject({ status: 403, body: { requiredScope: 'worker:execute' } });
    expect((await reader.post(`/api/workspaces/default/tasks/three/execute`, {})).status).toBe(403);
    expect((await reader.get(`/api/jobs/${jobId}`)).status).toBe(200);
    await api.post(`/api/jobs/${jobId}/cancel`);
  });
});

describe('workers', () => {
  it('lists the tenant’s workers with their tags and status, and reads one; another tenant sees none of them', async () => {
    const api = restClient(server.url, owner.token);
    const workerId = await register(owner.token, ['script', 'docker']);
    const listed = await api.get('/api/workers');
    expect(listed.status).toBe(200);
    expect(listed.body.find((w: any) => w.worker_id === workerId)).toMatchObject({ name: 'w', tags: ['docker', 'script'], status: 'active' });
    expect((await api.get(`/api/workers/${workerId}`)).body).toMatchObject({ worker_id: workerId, status: 'active' });
    expect((await api.get('/api/workers/not-a-uuid')).status).toBe(404);
    const stranger = restClient(server.url, (await server.tenant()).token);
    expect((await stranger.get('/api/workers')).body).toEqual([]);
    expect((await stranger.get(`/api/workers/${workerId}`)).status).toBe(404);
  });
});

describe('workspace tarballs', () => {
  it('serves the current revision with ETag and X-Revision, and 304 on If-None-Match', async () => {
    const api = restClient(server.url, owner.token);
    const { revision } = await uploadWorkspace(server.url, owner.token, 'files', { '.workflows/x.yaml': FLOW, 'scripts/a.sh': 'echo a\n' });
    const res = await fetch(`${server.url}/worker/workspace/files.tar.gz`, { headers: { authorization: `Bearer ${owner.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    expect(res.headers.get('x-revision')).toBe(revision);
    expect(res.headers.get('etag')).toBe(`"${revision}"`);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const cached = await api.get('/worker/workspace/files.tar.gz', { 'if-none-match': `"${revision}"` });
    expect(cached.status).toBe(304);
    expect((await api.get('/worker/workspace/files.tar.gz', { 'if-none-match': '"stale"' })).status).toBe(200);
    expect((await api.get('/worker/workspace/nope.tar.gz')).status).toBe(404);
    expect((await api.get('/worker/workspace/files.zip')).status).toBe(404);

    // A new upload changes the revision; the old one is still there for jobs pinned to it.
    const next = await uploadWorkspace(server.url, owner.token, 'files', { '.workflows/x.yaml': FLOW, 'scripts/a.sh': 'echo b\n' });
    expect(next.revision).not.toBe(revision);
    expect((await api.get('/worker/workspace/files.tar.gz', { 'if-none-match': `"${revision}"` })).status).toBe(200);
    expect((await api.get(`/worker/workspace/files.tar.gz?revision=${revision}`)).status).toBe(200);
  });
});
