import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/app';
import { restClient, uploadWorkspace } from '../support/workflows';

// Seed 001 end to end: a worker written only from the seed's "Worker API" page
// (test/fixtures/seed-001-worker.mjs: node built-ins and fetch, no project code) runs a three-step
// workflow with a failing step under continue_on_failure through /worker/*, while a GraphQL client
// follows the job's log live over graphql-ws.
const fixture = join(import.meta.dirname, '../fixtures/seed-001-worker.mjs');

const FLOW = `
actions:
  count:
    type: script
    script: |
      for i in 1 2 3 4 5; do echo "{{ input.label }} line $i"; sleep 0.2; done
      echo 'OUTPUT: {"lines": 5, "label": "{{ input.label }}"}'
  fail:
    type: script
    script: sh scripts/fail.sh
tasks:
  three:
    flow:
      a:
        action: count
        input: { label: a }
      b:
        action: fail
        depends_on: [a]
      c:
        action: count
        depends_on: [b]
        continue_on_failure: true
        input: { label: "c after {{ a.output.lines }}" }
`;

// A file of the workspace: the worker runs steps in its checkout of the workspace's revision.
const FAIL_SH = `echo "b about to fail" >&2
exit 2
`;

const JOB_LOGS = `subscription JobLogs($jobId: ID!) { jobLogs(jobId: $jobId) { cursor ts step stream line } }`;

type Line = { cursor: string; ts: string; step: string; stream: string; line: string };

/** One graphql-ws subscription to jobLogs that records when each line arrived (this process's clock). */
function followJobLogs(url: string, token: string, jobId: string) {
  const lines: (Line & { arrivedAt: number })[] = [];
  const errors: unknown[] = [];
  let settle!: (how: string) => void;
  const ended = new Promise<string>((resolve) => (settle = resolve));
  const client: Client = createClient({
    url: url.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    connectionParams: { authorization: `Bearer ${token}` },
    onNonLazyError: () => {},
    on: { closed: (event) => settle(`closed ${(event as { code: number }).code}`) },
  });
  let subscribed!: () => void;
  const acknowledged = new Promise<void>((resolve) => (subscribed = resolve));
  client.on('connected', () => subscribed());
  client.subscribe<{ jobLogs: Line }>(
    { query: JOB_LOGS, variables: { jobId } },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        if (value.data) lines.push({ ...value.data.jobLogs, arrivedAt: Date.now() });
      },
      error: (err) => {
        errors.push(err);
        settle('error');
      },
      complete: () => settle('complete'),
    },
  );
  return { lines, errors, ended, acknowledged, close: () => client.dispose() as Promise<void> };
}

let server: TestServer;
let owner: { token: string };
let worker: ChildProcess | undefined;
let workerOut = '';
let workerExit: Promise<{ code: number | null; signal: string | null }>;

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  await uploadWorkspace(server.url, owner.token, 'default', { '.workflows/flow.yaml': FLOW, 'scripts/fail.sh': FAIL_SH });
});
afterAll(async () => {
  if (worker && worker.exitCode === null && worker.signalCode === null) {
    worker.kill('SIGKILL');
    await workerExit;
  }
  await server?.close();
});

/** Starts the fixture worker; its output is kept for assertions and failure messages. */
function startWorker(env: Record<string, string>) {
  const child = spawn(process.execPath, [fixture, '--server', server.url], {
    // Only what a standalone program gets: no project settings, the token through the environment.
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (workerOut += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (workerOut += `[stderr] ${chunk.toString()}`));
  workerExit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

describe('a worker written from seed 001 alone', () => {
  it('runs a → b (fails) → c (continue_on_failure) through /worker/*, its lines reaching jobLogs live', async () => {
    const api = restClient(server.url, owner.token);
    const executed = await api.post('/api/workspaces/default/tasks/three/execute', { input: {} });
    expect(executed.status).toBe(200);
    const jobId = executed.body.job_id as string;

    // The subscriber is there before any worker: everything it gets arrives while the job runs.
    const logs = followJobLogs(server.url, owner.token, jobId);
    await logs.acknowledged;
    worker = startWorker({ TOKEN: owner.token, WORKER_NAME: 'seed-001', POLL_MS: '100', LOG_INTERVAL_MS: '200' });

    const how = await Promise.race([logs.ended, new Promise<string>((r) => setTimeout(() => r('timeout'), 30_000))]);
    expect(how, `worker output:\n${workerOut}\nerrors: ${JSON.stringify(logs.errors)}`).toBe('complete');
    expect(logs.errors).toEqual([]);

    // The job: b failed without continue_on_failure, so the job failed, although c ran and completed.
    const job = (await api.get(`/api/jobs/${jobId}`)).body;
    expect(job.status).toBe('failed');
    expect(job.completed_at).not.toBeNull();
    const step = (name: string) => job.steps.find((s: any) => s.step_name === name);
    expect(job.steps.map((s: any) => [s.step_name, s.status])).toEqual([
      ['a', 'completed'],
      ['b', 'failed'],
      ['c', 'completed'],
    ]);
    expect(step('a').output).toEqual({ lines: 5, label: 'a' });
    expect(step('b').error_message).toMatch(/^(Process|Command) exited with code 2$/);
    // c's templates saw a's output, parsed by the worker from its OUTPUT line.
    expect(step('c').input).toEqual({ label: 'c after 5' });
    expect(step('c').output).toEqual({ lines: 5, label: 'c after 5' });
    const workerId = /registered (\S+)/.exec(workerOut)?.[1];
    expect(workerId).toMatch(/^[0-9a-f-]{36}$/);
    for (const name of ['a', 'b', 'c']) expect(step(name).worker_id).toBe(workerId);
    // One download of the workspace; the later steps got 304 Not Modified for its ETag.
    expect(workerOut.match(/^workspace default revision /gm)).toHaveLength(1);

    // What the subscription received: every line once, cursors strictly increasing.
    const cursors = logs.lines.map((l) => Number(l.cursor));
    for (let i = 1; i < cursors.length; i++) expect(cursors[i]).toBeGreaterThan(cursors[i - 1]!);
    expect(new Set(logs.lines.map((l) => l.cursor)).size).toBe(logs.lines.length);
    // (GraphQL's LogStream enum is STDOUT / STDERR; REST's JSONL has Strøm's stdout / stderr.)
    const of = (name: string) => logs.lines.filter((l) => l.step === name).map((l) => `${l.stream.toLowerCase()} ${l.line}`);
    expect(of('a')).toEqual([1, 2, 3, 4, 5].map((i) => `stdout a line ${i}`).concat('stdout OUTPUT: {"lines": 5, "label": "a"}'));
    expect(of('b')).toEqual(['stderr b about to fail']);
    expect(of('c')).toEqual([1, 2, 3, 4, 5].map((i) => `stdout c after 5 line ${i}`).concat('stdout OUTPUT: {"lines": 5, "label": "c after 5"}'));
    expect(logs.lines.some((l) => l.step === '_server' && /step b failed/.test(l.line))).toBe(true);

    // Live, not backfilled at the end: a's first line arrived while a was still running (it
    // prints for a second), every line of a while c had yet to finish (c prints for a second
    // too), and c's first line while c was still running. Same machine, same clock.
    const arrived = (name: string) => logs.lines.filter((l) => l.step === name).map((l) => l.arrivedAt);
    expect(Math.min(...arrived('a'))).toBeLessThan(Date.parse(step('a').completed_at));
    expect(Math.max(...arrived('a'))).toBeLessThan(Date.parse(step('c').completed_at));
    expect(Math.min(...arrived('c'))).toBeLessThan(Date.parse(step('c').completed_at));
    expect(Math.max(...logs.lines.map((l) => l.arrivedAt)) - Math.min(...arrived('a'))).toBeGreaterThan(1_000);

    // GET /api/jobs/{id}/logs: the same lines, as JSONL.
    const rest = await api.get(`/api/jobs/${jobId}/logs`);
    expect(rest.status).toBe(200);
    const jsonl = (rest.body.logs as string).trim().split('\n').map((l) => JSON.parse(l));
    expect(jsonl).toEqual(
      logs.lines.map((l) => ({ cursor: l.cursor, ts: new Date(l.ts).toISOString(), step: l.step, stream: l.stream.toLowerCase(), line: l.line })),
    );
    await logs.close();
  }, 40_000);

  it('stops on SIGTERM', async () => {
    expect(worker).toBeDefined();
    worker!.kill('SIGTERM');
    const exit = await Promise.race([workerExit, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
    expect(exit, workerOut).toEqual({ code: 0, signal: null });
    expect(workerOut).toContain('stopped');
    expect(workerOut).not.toContain('[stderr]');
  });
});
