import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceCommand } from '../../src/cli/workspace';
import { startTestServer, type TestServer } from '../support/app';
import { eventually, restClient } from '../support/workflows';

// The examples in examples/workspaces/, pushed with `runlane workspace push` and run by a real
// `runlane worker-agent` process against a real server: what a user following the README does.
const root = join(import.meta.dirname, '../..');
let server: TestServer;
let token: string;
let worker: ChildProcess;
let workerOutput = '';
let cacheDir: string;

beforeAll(async () => {
  server = await startTestServer();
  token = (await server.tenant()).token;
  for (const example of ['hello', 'pipeline']) {
    let printed = '';
    const code = await workspaceCommand({ positionals: ['push', join(root, 'examples/workspaces', example)], values: { server: server.url, token } }, (t) => (printed += t));
    expect(code, printed).toBe(0);
  }
  cacheDir = mkdtempSync(join(tmpdir(), 'runlane-examples-'));
  worker = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/main.ts', 'worker-agent', '--server', server.url, '--token', token, '--tags', 'script', '--concurrency', '2', '--poll-interval', '0.2', '--cache-dir', cacheDir, '--name', 'examples'],
    { cwd: root, env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  worker.stdout!.on('data', (c: Buffer) => (workerOutput += c.toString()));
  worker.stderr!.on('data', (c: Buffer) => (workerOutput += c.toString()));
  await eventually(async () => (await restClient(server.url, token).get('/api/workers')).body.length > 0, 60_000);
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) worker.kill('SIGKILL');
  await server?.close();
  if (cacheDir) rmSync(cacheDir, { recursive: true, force: true });
});

async function runToEnd(workspace: string, task: string, input: unknown) {
  const api = restClient(server.url, token);
  const started = await api.post(`/api/workspaces/${workspace}/tasks/${task}/execute`, { input });
  expect(started.status).toBe(200);
  const jobId = started.body.job_id as string;
  const job = await eventually(async () => {
    const current = (await api.get(`/api/jobs/${jobId}`)).body;
    return ['completed', 'failed', 'cancelled'].includes(current.status) ? current : null;
  }, 60_000);
  const logs = ((await api.get(`/api/jobs/${jobId}/logs`)).body.logs as string).trim().split('\n').map((l) => JSON.parse(l));
  return { job, logs };
}

describe('the reference worker runs the examples', () => {
  it('hello: greets, then shouts the greeting it read from the first step’s output', async () => {
    const { job, logs } = await runToEnd('hello', 'hello-world', { name: 'Ada' });
    expect(job.status, workerOutput).toBe('completed');
    expect(job.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['say-hello', 'completed'],
      ['shout-it', 'completed'],
    ]);
    expect(job.steps[0].output).toEqual({ greeting: 'Hello Ada' });
    expect(job.output).toEqual({ 'shout-it': { shouted: 'HELLO ADA' } });
    expect(logs.filter((l) => l.step === 'say-hello' && l.stream === 'stdout').map((l) => l.line)).toContain('Hello Ada');
    expect(job.steps.every((s: any) => s.worker_id)).toBe(true);
  });

  it('pipeline: a script from a file, a failing step, continue_on_failure, and a step skipped by `when`', async () => {
    const { job, logs } = await runToEnd('pipeline', 'pipeline', { rows: 4 });
    expect(job.status, workerOutput).toBe('failed');
    const steps = Object.fromEntries(job.steps.map((s: any) => [s.step_name, s]));
    expect(steps.extract).toMatchObject({ status: 'completed', output: { rows: 4 } });
    expect(steps.count).toMatchObject({ status: 'completed', output: { count: 4 } });
    expect(steps.transform.status).toBe('failed');
    expect(steps.transform.error_message).toMatch(/Exit code: 3/);
    expect(steps.transform.error_message).toMatch(/the input is malformed/);
    expect(steps.report).toMatchObject({ status: 'completed', output: { report: 'done' } });
    expect(steps.publish.status).toBe('skipped');
    expect(logs.filter((l) => l.step === 'count').map((l) => l.line)).toEqual(['row 1', 'row 2', 'row 3', 'row 4', 'OUTPUT: {"count": 4}']);
    expect(logs.some((l) => l.step === 'transform' && l.stream === 'stderr' && l.line.includes('malformed'))).toBe(true);
  });

  it('drains and exits 0 on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workerOutput).not.toContain(token);
  });
});
