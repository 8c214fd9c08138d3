import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkflowSweeper } from '../../app';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { restClient, uploadWorkspace } from '../../../test/support/workflows';
import type { WorkflowSweeper } from './workflow-sweeper';

// Seed 001's recovery, with the timeouts shortened: silent workers, steps no worker can take,
// step and job timeouts. The sweeper is ticked by hand after the clock has moved past a limit.
const FLOW = `
actions:
  work:
    type: script
    script: "sleep 100"
  gpu:
    type: script
    script: "x"
    tags: [gpu]
tasks:
  one:
    flow:
      only: { action: work }
  two:
    flow:
      first: { action: work }
      second: { action: work, depends_on: [first] }
  slow-step:
    flow:
      only: { action: work, timeout: 1s }
  slow-job:
    timeout: 1s
    flow:
      only: { action: work }
  needs-gpu:
    flow:
      only: { action: gpu }
  local-two:
    mode: local
    flow:
      first: { action: work }
      second: { action: work, depends_on: [first] }
      third: { action: work, depends_on: [first], continue_on_failure: true }
  local-gpu:
    mode: local
    flow:
      only: { action: gpu }
`;

let server: TestServer;
let owner: { token: string; tenantId: string };
let sweeper: WorkflowSweeper;

beforeAll(async () => {
  server = await startTestServer({
    env: {
      RUNLANE_WORKER_HEARTBEAT_TIMEOUT_SECONDS: '1',
      RUNLANE_UNMATCHED_STEP_TIMEOUT_SECONDS: '1',
      RUNLANE_STEP_TIMEOUT_GRACE_SECONDS: '0',
    },
  });
  owner = await server.tenant();
  await uploadWorkspace(server.url, owner.token, 'default', { '.workflows/flow.yaml': FLOW });
  sweeper = createWorkflowSweeper(server.app);
});
afterAll(() => server?.close());

const api = () => restClient(server.url, owner.token);
const pastLimit = () => new Promise((r) => setTimeout(r, 1_200));

async function register(tags = ['script']) {
  return (await api().post('/worker/register', { name: 'w', tags })).body.worker_id as string;
}
async function execute(task: string) {
  return (await api().post(`/api/workspaces/default/tasks/${task}/execute`, { input: {} })).body.job_id as string;
}
const job = async (id: string) => (await api().get(`/api/jobs/${id}`)).body;
/** Every other worker is made silent, so only the test's own workers count as active. */
const silenceOthers = (db = server.db) => adminQuery(db, `update workers set last_heartbeat_at = now() - interval '1 hour'`);

describe('the workflow sweeper', () => {
  it('marks a silent worker inactive and fails its running steps; the job moves on; a heartbeat revives the worker', async () => {
    const workerId = await register();
    const jobId = await execute('two');
    const claimed = await api().post('/worker/jobs/claim', { worker_id: workerId });
    expect(claimed.body.job_id).toBe(jobId);
    await pastLimit();
    await sweeper.tick();
    const [worker] = await adminQuery(server.db, `select status from workers where id = $1`, [workerId]);
    expect(worker.status).toBe('inactive');
    const ended = await job(jobId);
    expect(ended.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['first', 'failed'],
      ['second', 'skipped'],
    ]);
    expect(ended.steps[0].error_message).toBe(`Worker heartbeat timeout (worker ${workerId} unresponsive)`);
    expect(ended.status).toBe('failed');
    const logs = (await api().get(`/api/jobs/${jobId}/logs?step=_server`)).body.logs as string;
    expect(logs).toContain('Worker heartbeat timeout');

    expect((await api().post('/worker/heartbeat', { worker_id: workerId })).body).toEqual({ status: 'ok' });
    const [revived] = await adminQuery(server.db, `select status from workers where id = $1`, [workerId]);
    expect(revived.status).toBe('active');
  });

  it('fails a step that has been ready with no active worker holding its tags, and not one a worker could take', async () => {
    await silenceOthers();
    await sweeper.tick();
    const jobId = await execute('needs-gpu');
    const coverable = await execute('one');
    await register(['script']);
    await pastLimit();
    await register(['script']);
    await sweeper.tick();
    const failed = await job(jobId);
    expect(failed.status).toBe('failed');
    expect(failed.steps[0].error_message).toBe('No active worker with required tags to run this step');
    // A script worker is active, so the script step waits on.
    expect((await job(coverable)).steps[0].status).toBe('ready');
    await api().post(`/api/jobs/${coverable}/cancel`);
  });

  it('fails a step running past its timeout, and cancels a job past its own', async () => {
    const workerId = await register();
    const slowStep = await execute('slow-step');
    const claimed = await api().post('/worker/jobs/claim', { worker_id: workerId });
    expect(claimed.body).toMatchObject({ job_id: slowStep, timeout_secs: 1 });
    const slowJob = await execute('slow-job');
    await pastLimit();
    await api().post('/worker/heartbeat', { worker_id: workerId });
    await sweeper.tick();
    const step = await job(slowStep);
    expect(step.status).toBe('failed');
    expect(step.steps[0].error_message).toBe('Step timed out (server-side enforcement)');
    const cancelled = await job(slowJob);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.error_message).toBe('Job timed out after 1s');
    expect(cancelled.steps[0].status).toBe('cancelled');
  });
});

describe('local execution mode', () => {
  it('hands the whole job to one worker, which reports each step and completes the job', async () => {
    await silenceOthers();
    const workerId = await register();
    const jobId = await execute('local-two');
    // Its steps are never handed out one by one.
    const claimed = await api().post('/worker/jobs/claim', { worker_id: workerId });
    expect(claimed.body).toMatchObject({ job_id: jobId, mode: 'local', step_name: null, action_spec: null, task_name: 'local-two' });
    expect(claimed.body.steps.map((s: any) => [s.step_name, s.depends_on, s.continue_on_failure])).toEqual([
      ['first', [], false],
      ['second', ['first'], false],
      ['third', ['first'], true],
    ]);
    expect(claimed.body.steps[0].action_spec.script).toBe('sleep 100');
    expect((await api().post('/worker/jobs/claim', { worker_id: await register() })).body.job_id).toBeNull();

    const other = await register();
    expect((await api().post(`/worker/jobs/${jobId}/steps/first/start`, { worker_id: other })).status).toBe(409);
    expect((await api().post(`/worker/jobs/${jobId}/steps/first/start`, { worker_id: workerId })).status).toBe(200);
    await api().post(`/worker/jobs/${jobId}/steps/first/complete`, { output: null, exit_code: 1, error: 'boom' });
    // The worker walks the DAG: second is skipped (never reported), third runs despite the failure.
    await api().post(`/worker/jobs/${jobId}/steps/third/start`, { worker_id: workerId });
    await api().post(`/worker/jobs/${jobId}/steps/third/complete`, { output: { ok: 1 }, exit_code: 0 });
    expect((await job(jobId)).status).toBe('running');
    expect((await api().post(`/worker/jobs/${jobId}/complete`, { output: { result: 'done' } })).body).toEqual({ status: 'ok' });

    const ended = await job(jobId);
    expect(ended.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['first', 'failed'],
      ['second', 'skipped'],
      ['third', 'completed'],
    ]);
    // first failed without continue_on_failure: the job failed, whatever output the worker sent.
    expect(ended.status).toBe('failed');
    expect(ended.steps[0].error_message).toBe('boom');
  });

  it('refuses /complete for a distributed job, and fails a local job whose worker went silent', async () => {
    const distributed = await execute('one');
    expect((await api().post(`/worker/jobs/${distributed}/complete`, { output: {} })).status).toBe(409);
    await api().post(`/api/jobs/${distributed}/cancel`);

    await silenceOthers();
    const workerId = await register();
    const jobId = await execute('local-two');
    expect((await api().post('/worker/jobs/claim', { worker_id: workerId })).body.job_id).toBe(jobId);
    await api().post(`/worker/jobs/${jobId}/steps/first/start`, { worker_id: workerId });
    await pastLimit();
    await sweeper.tick();
    const ended = await job(jobId);
    expect(ended.status).toBe('failed');
    expect(ended.error_message).toMatch(/Worker heartbeat timeout/);
    expect(ended.steps.map((s: any) => s.status)).toEqual(['failed', 'skipped', 'skipped']);
  });

  it('fails a local job no active worker can take', async () => {
    await silenceOthers();
    await sweeper.tick();
    await register(['script']);
    const jobId = await execute('local-gpu');
    await pastLimit();
    await api().post('/worker/heartbeat', { worker_id: await register(['script']) });
    await sweeper.tick();
    const ended = await job(jobId);
    expect(ended.status).toBe('failed');
    expect(ended.error_message).toBe('No active worker with required tags to run this job');
  });
});
