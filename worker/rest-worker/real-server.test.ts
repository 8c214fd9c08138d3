import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/app';
import { eventually, restClient, uploadWorkspace } from '../../test/support/workflows';
import { createLogger } from '../../src/platform/log';
import { FAST_TIMINGS } from './test-server';
import { startRestWorker, type RestWorker } from './worker';

// The reference worker against a real Runlane server and database: the fake server of the other
// tests is only as good as its likeness to this.
const FLOW = `
actions:
  greet:
    type: script
    script: |
      echo "hello {{ input.name }} from $RUNLANE_STEP_NAME"
      echo 'OUTPUT: {"greeting": "hello {{ input.name }}"}'
    input:
      name: { type: string, required: true }
  fail:
    type: script
    script: "echo bad >&2; exit 3"
  read:
    type: script
    source: scripts/read.sh
tasks:
  distributed:
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
      skipped-one:
        action: greet
        depends_on: [b]
        input: { name: never }
  local-run:
    mode: local
    input:
      name: { type: string, default: World }
    flow:
      a:
        action: greet
        input: { name: "{{ input.name }}" }
      b:
        action: fail
        depends_on: [a]
        continue_on_failure: true
      c:
        action: greet
        depends_on: [b]
        continue_on_failure: true
        input: { name: "{{ a.output.greeting }}" }
      file:
        action: read
        depends_on: [a]
      quiet:
        action: greet
        depends_on: [a]
        when: "{{ input.name == 'nobody' }}"
        input: { name: q }
`;

let server: TestServer;
let token: string;
let worker: RestWorker;
let cacheDir: string;

beforeAll(async () => {
  server = await startTestServer();
  token = (await server.tenant()).token;
  await uploadWorkspace(server.url, token, 'default', { '.workflows/flow.yaml': FLOW, 'scripts/read.sh': 'echo "OUTPUT: {\\"file\\": \\"$(basename "$0")\\"}"\n' });
  cacheDir = mkdtempSync(join(tmpdir(), 'runlane-real-test-'));
  worker = startRestWorker({ server: server.url, token, name: 'real', cacheDir, dockerBinary: null, logger: createLogger('silent'), timings: FAST_TIMINGS });
});
afterAll(async () => {
  await worker?.stop();
  await server?.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

async function runTask(task: string, input: Record<string, unknown>) {
  const api = restClient(server.url, token);
  const started = await api.post(`/api/workspaces/default/tasks/${task}/execute`, { input });
  expect(started.status).toBe(200);
  const jobId = started.body.job_id as string;
  const job = await eventually(async () => {
    const body = (await api.get(`/api/jobs/${jobId}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(body.status) && body;
  }, 15_000);
  const logs = ((await api.get(`/api/jobs/${jobId}/logs`)).body.logs as string)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { step: string; stream: string; line: string });
  return { job, logs, step: (name: string) => job.steps.find((s: any) => s.step_name === name) };
}

describe('the reference worker against a real server', () => {
  it('runs a distributed job step by step', async () => {
    const { job, logs, step } = await runTask('distributed', { name: 'Ada' });
    expect(job.status).toBe('failed');
    expect(step('a')).toMatchObject({ status: 'completed', output: { greeting: 'hello Ada' }, worker_id: worker.workerId });
    expect(step('b')).toMatchObject({ status: 'failed', error_message: 'Exit code: 3\nStderr: bad' });
    expect(step('c')).toMatchObject({ status: 'completed', output: { greeting: 'hello hello Ada' } });
    expect(step('skipped-one').status).toBe('skipped');
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 'a', stream: 'stdout', line: 'hello Ada from a' })]));
  });

  it('runs a local-mode job whole, walking its DAG itself', async () => {
    const { job, logs, step } = await runTask('local-run', { name: 'Bo' });
    expect(job.mode).toBe('local');
    expect(step('a')).toMatchObject({ status: 'completed', output: { greeting: 'hello Bo' } });
    expect(step('b').status).toBe('failed');
    expect(step('c')).toMatchObject({ status: 'completed', output: { greeting: 'hello hello Bo' } });
    expect(step('file')).toMatchObject({ status: 'completed', output: { file: 'read.sh' } });
    expect(step('quiet').status).toBe('skipped');
    expect(job.status).toBe('completed');
    expect(job.output).toEqual({ c: { greeting: 'hello hello Bo' }, file: { file: 'read.sh' } });
    expect(logs).toEqual(expect.arrayContaining([expect.objectContaining({ step: 'c', stream: 'stdout', line: 'hello hello Bo from c' })]));
  });
});
