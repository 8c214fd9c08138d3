import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { print } from 'graphql';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { subscribeOverWs } from '../../../test/support/live';
import { eventually, restClient, uploadArchive, uploadWorkspace, workspaceFiles } from '../../../test/support/workflows';
import {
  CancelJobDocument,
  DeleteWorkspaceDocument,
  ExecuteTaskDocument,
  JobDocument,
  JobLogsDocument,
  JobsDocument,
  JobUpdatesDocument,
  WorkspaceDocument,
  WorkspacesDocument,
  type CancelJobMutation,
  type DeleteWorkspaceMutation,
  type ExecuteTaskMutation,
  type JobLogsSubscription,
  type JobQuery,
  type JobsQuery,
  type JobUpdatesSubscription,
  type WorkspaceQuery,
  type WorkspacesQuery,
} from '../../../test/documents/generated';
import { workspaceCommand } from '../../cli/workspace';
import { packFiles } from './definition/workspace-archive';

// The workflows feature through its GraphQL door (queries, mutations, graphql-ws subscriptions),
// the REST WebSocket log stream and `runlane workspace push`, on a real server, PostgreSQL and
// Redis. Jobs are driven by the REST worker protocol, as an external worker would drive them.

// The typed documents codegen generates from test/documents/workflows.graphql, as clients send them.
const JOB_LOGS = print(JobLogsDocument);
const JOB_UPDATES = print(JobUpdatesDocument);
const EXECUTE_TASK = print(ExecuteTaskDocument);
const CANCEL_JOB = print(CancelJobDocument);
const JOB = print(JobDocument);
const JOBS = print(JobsDocument);
const WORKSPACES = print(WorkspacesDocument);
const WORKSPACE = print(WorkspaceDocument);
const DELETE_WORKSPACE = print(DeleteWorkspaceDocument);

type LogLine = JobLogsSubscription['jobLogs'];
type UpdatedJob = JobUpdatesSubscription['jobUpdates'];

const FLOW = `actions:
  greet:
    type: script
    description: Say hello
    script: "echo Hello {{ input.name }}"
    input:
      name: { type: string, required: true }
  build:
    type: docker
    image: alpine:3
    cmd: [make]
    tags: [linux]
tasks:
  hello:
    description: Two greetings in a row
    input:
      name: { type: string, required: true }
      times: { type: integer, default: 1 }
    flow:
      first:
        action: greet
        input: { name: "{{ input.name }}" }
      second:
        action: greet
        depends_on: [first]
        input: { name: again }
  compile:
    flow:
      make:
        action: build
`;

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ redis: true });
});
afterAll(() => server?.close());

type Api = ReturnType<typeof restClient>;

/** A fresh tenant (so its worker claims only this test's steps) with the FLOW workspace as `main`. */
async function tenant(workspace: string | null = 'main') {
  const t = await server.tenant();
  if (workspace) await uploadWorkspace(server.url, t.token, workspace, { '.workflows/flow.yaml': FLOW });
  return { ...t, api: restClient(server.url, t.token), q: <T = any>(query: string, variables?: Record<string, unknown>) => gql<T>(server.url, t.token, query, variables) };
}

/** A token of the tenant limited to `scopes`, created with the createAccount mutation. */
async function limitedToken(ownerToken: string, scopes: string[]): Promise<string> {
  const created = await gql(server.url, ownerToken, `mutation($input: CreateAccountInput!) { createAccount(input: $input) { ... on AccountWithToken { token } } }`, {
    input: { name: `limited-${scopes.join('-') || 'none'}-${Math.random().toString(36).slice(2, 8)}`, scopes },
  });
  const token = created.body.data?.createAccount?.token;
  if (!token) throw new Error(`createAccount: ${JSON.stringify(created.body)}`);
  return token;
}

async function execute(t: { q: Awaited<ReturnType<typeof tenant>>['q'] }, task = 'hello', input: unknown = { name: 'Ada' }) {
  const res = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task, input });
  const result = res.body.data!.executeTask;
  if (result.__typename !== 'ExecuteTaskPayload') throw new Error(`executeTask: ${JSON.stringify(res.body)}`);
  return result.job;
}

/** The REST worker protocol, one worker. */
async function worker(api: Api, tags = ['script']) {
  const registered = await api.post('/worker/register', { name: 'test-worker', tags });
  expect(registered.status).toBe(200);
  const workerId = registered.body.worker_id as string;
  return {
    workerId,
    async claimAndStart(jobId: string, step: string) {
      const claimed = await api.post('/worker/jobs/claim', { worker_id: workerId, tags });
      expect(claimed.status).toBe(200);
      expect(claimed.body).toMatchObject({ job_id: jobId, step_name: step });
      expect((await api.post(`/worker/jobs/${jobId}/steps/${step}/start`, { worker_id: workerId })).status).toBe(200);
    },
    async log(jobId: string, step: string, lines: string[], stream = 'stdout') {
      const res = await api.post(`/worker/jobs/${jobId}/logs`, { step_name: step, lines: lines.map((line) => ({ ts: new Date().toISOString(), stream, line })) });
      expect(res.status).toBe(200);
    },
    async complete(jobId: string, step: string, output: unknown = { ok: true }) {
      expect((await api.post(`/worker/jobs/${jobId}/steps/${step}/complete`, { output, exit_code: 0, error: null })).status).toBe(200);
    },
  };
}

const numbered = (prefix: string, from: number, count: number) => Array.from({ length: count }, (_, i) => `${prefix} ${from + i}`);
const consecutive = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const cursors = (lines: { cursor: string }[]) => lines.map((l) => Number(l.cursor));

/** The whole stored log of a job (optionally one step's), through Job.logs, page by page. */
async function storedLog(t: Awaited<ReturnType<typeof tenant>>, jobId: string, step: string | null = null) {
  const all: { cursor: string; step: string; stream: string; line: string }[] = [];
  let after: string | null = null;
  for (;;) {
    const res = await t.q<JobQuery>(JOB, { id: jobId, logsAfter: after, logsFirst: 200, step });
    const logs: NonNullable<JobQuery['job']>['logs'] = res.body.data!.job!.logs;
    all.push(...logs.edges.map((e) => e.node));
    if (!logs.pageInfo.hasNextPage) return all;
    after = logs.pageInfo.endCursor!;
  }
}

/** uploadWorkspace as a raw multipart request, for answers the CLI helper turns into exceptions. */
async function rawUpload(token: string, name: string, archive: Buffer) {
  const form = new FormData();
  form.set('operations', JSON.stringify({ query: 'mutation($name: String!, $archive: File!) { uploadWorkspace(name: $name, archive: $archive) { __typename } }', variables: { name, archive: null } }));
  form.set('map', JSON.stringify({ 0: ['variables.archive'] }));
  form.set('0', new Blob([new Uint8Array(archive)], { type: 'application/gzip' }), `${name}.tar.gz`);
  const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

const workspaceList = async (t: Awaited<ReturnType<typeof tenant>>) =>
  (await t.q<WorkspacesQuery>(WORKSPACES)).body.data!.workspaces.map((w) => ({ name: w.name, revision: w.revision }));

describe('uploadWorkspace, workspaces, workspace, deleteWorkspace', () => {
  it('stores a valid upload, answers changed: false for the same files, and shows tasks and actions', async () => {
    const t = await tenant(null);
    const archive = await packFiles(workspaceFiles({ '.workflows/flow.yaml': FLOW, 'scripts/run.sh': 'echo hi\n' }));
    const first = await uploadArchive(server.url, t.token, 'main', archive);
    expect(first).toMatchObject({ __typename: 'UploadWorkspacePayload', changed: true, workspace: { name: 'main', revision: expect.stringMatching(/^[0-9a-f]{16,}$/) } });
    if (first.__typename !== 'UploadWorkspacePayload') throw new Error('unreachable');
    expect(first.workspace.tasks.map((x) => x.name).sort()).toEqual(['compile', 'hello']);
    expect(first.workspace.actions.map((x) => x.name).sort()).toEqual(['build', 'greet']);

    // The same files again (packed afresh): nothing changes.
    const again = await uploadArchive(server.url, t.token, 'main', await packFiles(workspaceFiles({ '.workflows/flow.yaml': FLOW, 'scripts/run.sh': 'echo hi\n' })));
    expect(again).toMatchObject({ __typename: 'UploadWorkspacePayload', changed: false, workspace: { revision: first.workspace.revision } });

    const listed = (await t.q<WorkspacesQuery>(WORKSPACES)).body.data!.workspaces;
    expect(listed).toHaveLength(1);
    const one = (await t.q<WorkspaceQuery>(WORKSPACE, { name: 'main' })).body.data!.workspace!;
    expect(one).toEqual(listed[0]);
    expect(one).toMatchObject({ name: 'main', revision: first.workspace.revision, fileCount: 2 });
    const hello = one.tasks.find((x) => x.name === 'hello')!;
    expect(hello).toEqual({
      name: 'hello',
      description: 'Two greetings in a row',
      input: [
        { name: 'name', type: 'string', required: true, default: null },
        { name: 'times', type: 'integer', required: false, default: 1 },
      ],
      steps: [
        { name: 'first', action: 'greet', dependsOn: [], continueOnFailure: false },
        { name: 'second', action: 'greet', dependsOn: ['first'], continueOnFailure: false },
      ],
    });
    const actions = Object.fromEntries(one.actions.map((a) => [a.name, a]));
    expect(actions.greet).toEqual({ name: 'greet', type: 'SCRIPT', runner: 'local', requiredTags: ['script'], input: [{ name: 'name', type: 'string', required: true }] });
    expect(actions.build).toEqual({ name: 'build', type: 'DOCKER', runner: null, requiredTags: ['docker', 'linux'], input: [] });
    expect((await t.q<WorkspaceQuery>(WORKSPACE, { name: 'nope' })).body.data!.workspace).toBeNull();
  });

  it('refuses invalid workflow files with file, line and column, and stores nothing', async () => {
    const t = await tenant();
    const before = await workspaceList(t);
    const ACTIONS = 'actions:\n  greet:\n    type: script\n    script: echo hi\n';
    const refused = async (files: Record<string, string>) => {
      const result = await uploadArchive(server.url, t.token, 'main', await packFiles(workspaceFiles(files)));
      expect(result.__typename).toBe('WorkspaceInvalidError');
      if (result.__typename !== 'WorkspaceInvalidError') throw new Error('unreachable');
      expect(result.message).toMatch(/invalid/);
      return result.problems;
    };

    // YAML that does not parse: the file and the line of the mis-indented key.
    const syntax = await refused({ '.workflows/actions.yaml': ACTIONS, '.workflows/broken.yaml': 'actions:\n  other:\n    type: script\n    script: echo hi\n   bad: 1\n' });
    expect(syntax).toEqual([{ file: '.workflows/broken.yaml', line: 5, column: 1, message: expect.stringMatching(/^YAML syntax: .*same column/) }]);

    // A step naming an action nobody defines: reported where the name is, in the tasks' file.
    const unknown = await refused({
      '.workflows/actions.yaml': ACTIONS,
      '.workflows/tasks.yaml': 'tasks:\n  t:\n    flow:\n      s1:\n        action: greet\n      s2:\n        action: nope\n        depends_on: [s1]\n',
    });
    expect(unknown).toEqual([{ file: '.workflows/tasks.yaml', line: 7, column: 17, message: 'step "s2" of task "t" uses action "nope", which is not defined (actions: greet)' }]);

    // A cycle in depends_on.
    const cycle = await refused({
      '.workflows/actions.yaml': ACTIONS,
      '.workflows/tasks.yaml': 'tasks:\n  t:\n    flow:\n      a: { action: greet, depends_on: [b] }\n      b: { action: greet, depends_on: [a] }\n',
    });
    // Reported where the walk closes the cycle: b's dependency on a.
    expect(cycle).toEqual([{ file: '.workflows/tasks.yaml', line: 5, column: 40, message: 'depends_on forms a cycle: a → b → a' }]);

    // A script `source:` that is not in the archive.
    const missing = await refused({ '.workflows/actions.yaml': 'actions:\n  run:\n    type: script\n    source: scripts/run.sh\n' });
    expect(missing).toEqual([{ file: '.workflows/actions.yaml', line: 4, column: 13, message: expect.stringMatching(/"scripts\/run.sh" is not a file of the workspace/) }]);
    // …and accepted once the file is there.
    const withFile = await uploadArchive(server.url, t.token, 'other', await packFiles(workspaceFiles({ '.workflows/actions.yaml': 'actions:\n  run:\n    type: script\n    source: scripts/run.sh\n', 'scripts/run.sh': 'echo\n' })));
    expect(withFile.__typename).toBe('UploadWorkspacePayload');
    await t.q(DELETE_WORKSPACE, { name: 'other' });

    // Not a gzip file at all: an InputError.
    const garbage = await uploadArchive(server.url, t.token, 'main', Buffer.from('this is not a tarball'));
    expect(garbage).toMatchObject({ __typename: 'InputError', code: 'INVALID_REQUEST', message: expect.stringMatching(/not a gzip file/) });

    // Nothing of the refused uploads was stored.
    expect(await workspaceList(t)).toEqual(before);
  });

  it('deletes a workspace, answering it; deleting it again is NotFoundError', async () => {
    const t = await tenant();
    const { revision } = await uploadWorkspace(server.url, t.token, 'doomed', { '.workflows/flow.yaml': FLOW });
    expect((await workspaceList(t)).map((w) => w.name)).toEqual(['doomed', 'main']);
    const deleted = await t.q<DeleteWorkspaceMutation>(DELETE_WORKSPACE, { name: 'doomed' });
    expect(deleted.body.data!.deleteWorkspace).toEqual({ __typename: 'Workspace', name: 'doomed', revision });
    expect((await workspaceList(t)).map((w) => w.name)).toEqual(['main']);
    expect((await t.q<WorkspaceQuery>(WORKSPACE, { name: 'doomed' })).body.data!.workspace).toBeNull();
    const again = await t.q<DeleteWorkspaceMutation>(DELETE_WORKSPACE, { name: 'doomed' });
    expect(again.body.data!.deleteWorkspace).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
  });
});

describe('executeTask, job, jobs, node, cancelJob, Job.logs', () => {
  it('executes a task and answers the job with its steps; refuses bad input and unknown tasks', async () => {
    const t = await tenant();
    const job = await execute(t);
    expect(job).toMatchObject({ id: expect.any(String), uuid: expect.stringMatching(/^[0-9a-f-]{36}$/), workspace: 'main', taskName: 'hello', status: 'PENDING', input: { name: 'Ada', times: 1 } });
    expect(job.id).not.toBe(job.uuid);
    expect(job.steps).toEqual([
      { name: 'first', status: 'READY' },
      { name: 'second', status: 'PENDING' },
    ]);

    const missing = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task: 'hello', input: {} });
    expect(missing.body.data!.executeTask).toMatchObject({ __typename: 'InputError', field: 'input', message: expect.stringContaining('input "name" is required') });
    const wrongType = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task: 'hello', input: { name: 'Ada', times: 'twice' } });
    expect(wrongType.body.data!.executeTask).toMatchObject({ __typename: 'InputError', message: expect.stringContaining('input "times" must be an integer') });
    const notAnObject = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task: 'hello', input: [1] });
    expect(notAnObject.body.data!.executeTask).toMatchObject({ __typename: 'InputError' });
    const unknownTask = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task: 'nope', input: {} });
    expect(unknownTask.body.data!.executeTask).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    const unknownWorkspace = await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'nope', task: 'hello', input: { name: 'x' } });
    expect(unknownWorkspace.body.data!.executeTask).toMatchObject({ __typename: 'NotFoundError' });
    // The refused ones created no job.
    expect((await t.q<JobsQuery>(JOBS, {})).body.data!.jobs.edges.map((e) => e.node.uuid)).toEqual([job.uuid]);
  });

  it('finds a job by global id or uuid, through node(id) too, and lists jobs filtered and paged', async () => {
    const t = await tenant();
    await uploadWorkspace(server.url, t.token, 'second', { '.workflows/flow.yaml': FLOW });
    const a = await execute(t);
    const b = await execute(t, 'compile', {});
    const c = (await t.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'second', task: 'hello', input: { name: 'x' } })).body.data!.executeTask;
    if (c.__typename !== 'ExecuteTaskPayload') throw new Error('unreachable');
    const d = await execute(t);
    const cancelled = await t.q<CancelJobMutation>(CANCEL_JOB, { id: d.uuid });
    expect(cancelled.body.data!.cancelJob).toMatchObject({ __typename: 'Job', uuid: d.uuid, status: 'CANCELLED' });

    for (const id of [a.id, a.uuid, a.uuid.toUpperCase()]) {
      const found = (await t.q<JobQuery>(JOB, { id })).body.data!.job;
      expect(found).toMatchObject({ id: a.id, uuid: a.uuid, taskName: 'hello' });
    }
    expect((await t.q<JobQuery>(JOB, { id: '00000000-0000-4000-8000-000000000000' })).body.data!.job).toBeNull();
    expect((await t.q<JobQuery>(JOB, { id: 'garbage' })).body.data!.job).toBeNull();

    const node = await t.q(`query($id: ID!) { node(id: $id) { __typename id ... on Job { uuid taskName } } }`, { id: a.id });
    expect(node.body.data.node).toEqual({ __typename: 'Job', id: a.id, uuid: a.uuid, taskName: 'hello' });
    const byUuid = await t.q(`query($id: ID!) { node(id: $id) { __typename ... on Job { uuid } } }`, { id: a.uuid });
    expect(byUuid.body.data.node).toMatchObject({ __typename: 'Job', uuid: a.uuid });

    const uuids = async (variables: Record<string, unknown>) => (await t.q<JobsQuery>(JOBS, variables)).body.data!.jobs.edges.map((e) => e.node.uuid);
    // Newest first.
    expect(await uuids({})).toEqual([d.uuid, c.job.uuid, b.uuid, a.uuid]);
    expect(await uuids({ workspace: 'main' })).toEqual([d.uuid, b.uuid, a.uuid]);
    expect(await uuids({ workspace: 'second' })).toEqual([c.job.uuid]);
    expect(await uuids({ status: 'CANCELLED' })).toEqual([d.uuid]);
    expect(await uuids({ status: 'PENDING', workspace: 'main' })).toEqual([b.uuid, a.uuid]);
    expect(await uuids({ status: 'COMPLETED' })).toEqual([]);

    // Pages of two, following endCursor, visit every job once, in order.
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const jobs: JobsQuery['jobs'] = (await t.q<JobsQuery>(JOBS, { first: 2, after })).body.data!.jobs;
      seen.push(...jobs.edges.map((e) => e.node.uuid));
      expect(jobs.pageInfo.endCursor).toBe(jobs.edges.at(-1)?.cursor ?? null);
      if (!jobs.pageInfo.hasNextPage) break;
      after = jobs.pageInfo.endCursor!;
    }
    expect(seen).toEqual([d.uuid, c.job.uuid, b.uuid, a.uuid]);
    const filteredPage = (await t.q<JobsQuery>(JOBS, { first: 1, workspace: 'main', status: 'PENDING' })).body.data!.jobs;
    expect(filteredPage.edges.map((e) => e.node.uuid)).toEqual([b.uuid]);
    expect(filteredPage.pageInfo.hasNextPage).toBe(true);
    const rest = (await t.q<JobsQuery>(JOBS, { first: 5, after: filteredPage.pageInfo.endCursor, workspace: 'main', status: 'PENDING' })).body.data!.jobs;
    expect(rest.edges.map((e) => e.node.uuid)).toEqual([a.uuid]);
    expect(rest.pageInfo.hasNextPage).toBe(false);
  });

  it('cancels a job, answering it cancelled; a second cancel is ConflictError', async () => {
    const t = await tenant();
    const job = await execute(t);
    const first = (await t.q<CancelJobMutation>(CANCEL_JOB, { id: job.id })).body.data!.cancelJob;
    expect(first).toMatchObject({
      __typename: 'Job',
      id: job.id,
      status: 'CANCELLED',
      steps: [
        { name: 'first', status: 'CANCELLED' },
        { name: 'second', status: 'CANCELLED' },
      ],
    });
    const second = (await t.q<CancelJobMutation>(CANCEL_JOB, { id: job.uuid })).body.data!.cancelJob;
    expect(second).toMatchObject({ __typename: 'ConflictError', code: 'CONFLICT', message: expect.stringContaining('cancelled') });
    expect((await t.q<CancelJobMutation>(CANCEL_JOB, { id: '00000000-0000-4000-8000-000000000000' })).body.data!.cancelJob).toMatchObject({ __typename: 'NotFoundError' });
  });

  it('pages Job.logs (after, first, step) over lines a worker wrote through POST /worker/jobs/{id}/logs', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    await w.claimAndStart(job.uuid, 'first');
    await w.log(job.uuid, 'first', numbered('first', 1, 5));
    await w.log(job.uuid, 'first', ['oops'], 'stderr');
    await w.complete(job.uuid, 'first');
    await w.claimAndStart(job.uuid, 'second');
    await w.log(job.uuid, 'second', numbered('second', 1, 4));

    const all = await storedLog(t, job.uuid);
    // Line 1 is the server's "job created"; then the worker's lines in the order written.
    expect(all[0]).toMatchObject({ step: '_server', stream: 'STDOUT', line: expect.stringContaining('job created from main/hello') });
    expect(all.slice(1).map((l) => [l.step, l.stream, l.line])).toEqual([
      ...numbered('first', 1, 5).map((l) => ['first', 'STDOUT', l]),
      ['first', 'STDERR', 'oops'],
      ...numbered('second', 1, 4).map((l) => ['second', 'STDOUT', l]),
    ]);
    expect(cursors(all)).toEqual(consecutive(1, 11));

    const page = async (variables: Record<string, unknown>) => (await t.q<JobQuery>(JOB, { id: job.id, ...variables })).body.data!.job!.logs;
    const p1 = await page({ logsFirst: 4 });
    expect(p1.edges.map((e) => e.node.cursor)).toEqual(['1', '2', '3', '4']);
    expect(p1.edges.map((e) => e.cursor)).toEqual(['1', '2', '3', '4']);
    expect(p1.pageInfo).toEqual({ hasNextPage: true, endCursor: '4' });
    const p2 = await page({ logsFirst: 4, logsAfter: p1.pageInfo.endCursor });
    expect(p2.edges.map((e) => e.node.line)).toEqual(['first 4', 'first 5', 'oops', 'second 1']);
    const p3 = await page({ logsFirst: 4, logsAfter: p2.pageInfo.endCursor });
    expect(p3.edges.map((e) => e.node.line)).toEqual(['second 2', 'second 3', 'second 4']);
    expect(p3.pageInfo.hasNextPage).toBe(false);

    // One step's lines keep the log's cursors, so `after` works across the filter too.
    const second = await page({ step: 'second', logsFirst: 2 });
    expect(second.edges.map((e) => [e.cursor, e.node.line])).toEqual([
      ['8', 'second 1'],
      ['9', 'second 2'],
    ]);
    expect(second.pageInfo.hasNextPage).toBe(true);
    const secondRest = await page({ step: 'second', logsAfter: second.pageInfo.endCursor });
    expect(secondRest.edges.map((e) => e.node.line)).toEqual(['second 3', 'second 4']);
    expect(secondRest.pageInfo.hasNextPage).toBe(false);
    expect((await page({ step: 'nope' })).edges).toEqual([]);

    const bad = await t.q(JOB, { id: job.id, logsAfter: 'x; drop' });
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await w.complete(job.uuid, 'second');
  });
});

describe('scopes and tenants', () => {
  it('needs workflows:read to read and workflows:write to change; another tenant sees no job', async () => {
    const t = await tenant();
    const job = await execute(t);
    const none = await limitedToken(t.token, ['auth:read']);
    const reader = await limitedToken(t.token, ['workflows:read']);

    const codeOf = (res: Awaited<ReturnType<typeof gql>>) => res.body.errors?.[0]?.extensions?.code;
    for (const query of [JOBS, WORKSPACES, `query { job(id: "${job.uuid}") { uuid } }`]) {
      const res = await gql(server.url, none, query);
      expect(codeOf(res)).toBe('FORBIDDEN');
      expect(res.body.errors?.[0]?.extensions?.requiredScope).toBe('workflows:read');
    }
    expect((await gql<JobsQuery>(server.url, reader, JOBS)).body.data!.jobs.edges).toHaveLength(1);
    expect((await gql<WorkspacesQuery>(server.url, reader, WORKSPACES)).body.data!.workspaces.map((w) => w.name)).toEqual(['main']);

    const exec = await gql(server.url, reader, EXECUTE_TASK, { workspace: 'main', task: 'hello', input: { name: 'x' } });
    expect(codeOf(exec)).toBe('FORBIDDEN');
    expect(exec.body.errors?.[0]?.extensions?.requiredScope).toBe('workflows:write');
    expect(codeOf(await gql(server.url, reader, CANCEL_JOB, { id: job.id }))).toBe('FORBIDDEN');
    expect(codeOf(await gql(server.url, reader, DELETE_WORKSPACE, { name: 'main' }))).toBe('FORBIDDEN');
    const upload = await rawUpload(reader, 'main', await packFiles(workspaceFiles({ '.workflows/flow.yaml': FLOW })));
    expect(upload.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'workflows:write' });
    // The refused calls changed nothing.
    expect((await t.q<JobQuery>(JOB, { id: job.id })).body.data!.job!.status).toBe('PENDING');
    expect((await t.q<JobsQuery>(JOBS)).body.data!.jobs.edges).toHaveLength(1);

    // Another tenant: the job does not exist for it.
    const other = await tenant(null);
    expect((await other.q<JobQuery>(JOB, { id: job.id })).body).toEqual({ data: { job: null } });
    expect((await other.q<JobQuery>(JOB, { id: job.uuid })).body).toEqual({ data: { job: null } });
    expect((await other.q(`query($id: ID!) { node(id: $id) { id } }`, { id: job.id })).body.data.node).toBeNull();
    expect((await other.q<JobsQuery>(JOBS)).body.data!.jobs.edges).toEqual([]);
    expect((await other.q<WorkspacesQuery>(WORKSPACES)).body.data!.workspaces).toEqual([]);
    expect((await other.q<CancelJobMutation>(CANCEL_JOB, { id: job.id })).body.data!.cancelJob).toMatchObject({ __typename: 'NotFoundError', code: 'NOT_FOUND' });
    expect((await other.q<ExecuteTaskMutation>(EXECUTE_TASK, { workspace: 'main', task: 'hello', input: { name: 'x' } })).body.data!.executeTask).toMatchObject({ __typename: 'NotFoundError' });
    expect((await t.q<JobQuery>(JOB, { id: job.id })).body.data!.job!.status).toBe('PENDING');
  });
});

describe('jobLogs and jobUpdates over graphql-ws', () => {
  it('jobLogs: the backlog, then live lines in order without gap or repeat, completing when the job ends', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    await w.claimAndStart(job.uuid, 'first');
    await w.log(job.uuid, 'first', numbered('line', 1, 3));

    const sub = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id });
    const byStep = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.uuid, step: 'second' });
    await sub.received(4); // "job created" and the three lines already written
    for (let batch = 0; batch < 5; batch++) await w.log(job.uuid, 'first', numbered('line', 4 + batch * 4, 4));
    await w.complete(job.uuid, 'first');
    await w.claimAndStart(job.uuid, 'second');
    await w.log(job.uuid, 'second', numbered('second', 1, 3));
    await w.log(job.uuid, 'second', ['careful'], 'stderr');
    expect(await Promise.race([sub.ended.then(() => 'ended'), sub.received(28).then(() => 'running')])).toBe('running');
    await w.complete(job.uuid, 'second');

    expect(await sub.ended).toBe('complete');
    const values = sub.values as LogLine[];
    const stored = await storedLog(t, job.uuid);
    expect(values.map((v) => [v.cursor, v.step, v.stream, v.line])).toEqual(stored.map((l) => [l.cursor, l.step, l.stream, l.line]));
    expect(cursors(values)).toEqual(consecutive(1, stored.length));
    expect(values.filter((v) => v.step === 'first').map((v) => v.line)).toEqual(numbered('line', 1, 23));
    expect(values.every((v) => !Number.isNaN(Date.parse(v.ts)))).toBe(true);
    expect((await t.q<JobQuery>(JOB, { id: job.id })).body.data!.job!.status).toBe('COMPLETED');

    // The step filter: only that step's lines, with the log's own cursors.
    expect(await byStep.ended).toBe('complete');
    const stepLines = byStep.values as LogLine[];
    expect(stepLines.map((v) => [v.step, v.stream, v.line])).toEqual([
      ['second', 'STDOUT', 'second 1'],
      ['second', 'STDOUT', 'second 2'],
      ['second', 'STDOUT', 'second 3'],
      ['second', 'STDERR', 'careful'],
    ]);
    expect(stepLines.map((v) => v.cursor)).toEqual(stored.filter((l) => l.step === 'second').map((l) => l.cursor));
  });

  it('jobLogs resumes exactly after a cursor, and a subscriber after the end gets the whole log and completes', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    await w.claimAndStart(job.uuid, 'first');
    await w.log(job.uuid, 'first', numbered('line', 1, 5));

    const first = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id });
    await first.received(6);
    await first.close();
    const resumeAt = (first.values as LogLine[])[3]!.cursor; // as if the client had only seen 4 lines
    await w.log(job.uuid, 'first', numbered('line', 6, 5));

    const resumed = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id, after: resumeAt });
    await resumed.received(7);
    await w.log(job.uuid, 'first', numbered('line', 11, 2));
    await w.complete(job.uuid, 'first');
    await w.claimAndStart(job.uuid, 'second');
    await w.complete(job.uuid, 'second');
    expect(await resumed.ended).toBe('complete');
    const values = resumed.values as LogLine[];
    expect(cursors(values)).toEqual(consecutive(Number(resumeAt) + 1, 13));
    expect(values.map((v) => v.line)).toEqual(numbered('line', 4, 9));

    // After the end: the whole log at once, then complete.
    const late = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id });
    expect(await late.ended).toBe('complete');
    expect((late.values as LogLine[]).map((v) => v.cursor)).toEqual((await storedLog(t, job.uuid)).map((l) => l.cursor));
    expect(cursors(late.values)).toEqual(consecutive(1, 13));
    // …or after a cursor of it, and of one step.
    const lateTail = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id, after: '10', step: 'first' });
    expect(await lateTail.ended).toBe('complete');
    expect((lateTail.values as LogLine[]).map((v) => v.line)).toEqual(['line 10', 'line 11', 'line 12']);
  });

  it('jobUpdates: the job now, then after each change, completing with the final state', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    const sub = subscribeOverWs(server.url, t.token, JOB_UPDATES, { jobId: job.id });
    await sub.received(1);
    const values = sub.values as UpdatedJob[];
    expect(values[0]).toMatchObject({ id: job.id, uuid: job.uuid, status: 'PENDING', completedAt: null, steps: [{ name: 'first', status: 'READY' }, { name: 'second', status: 'PENDING' }] });

    await w.claimAndStart(job.uuid, 'first');
    await eventually(async () => values.some((v) => v.status === 'RUNNING' && v.steps[0]!.status === 'RUNNING'));
    await w.complete(job.uuid, 'first', { greeting: 'hi' });
    await eventually(async () => values.some((v) => v.steps[0]!.status === 'COMPLETED' && v.steps[1]!.status === 'READY'));
    await w.claimAndStart(job.uuid, 'second');
    await w.complete(job.uuid, 'second', { greeting: 'again' });

    expect(await sub.ended).toBe('complete');
    const last = values.at(-1)!;
    expect(last).toMatchObject({
      status: 'COMPLETED',
      completedAt: expect.any(String),
      output: { second: { greeting: 'again' } },
      steps: [
        { name: 'first', status: 'COMPLETED' },
        { name: 'second', status: 'COMPLETED' },
      ],
    });
    // Only the last value is terminal, and statuses never go back.
    const order = ['PENDING', 'RUNNING', 'COMPLETED'];
    const statuses = values.map((v) => order.indexOf(v.status));
    expect(statuses).toEqual([...statuses].sort((a, b) => a - b));
    expect(values.filter((v) => v.status === 'COMPLETED')).toHaveLength(1);

    // After the end: the final state once, then complete.
    const late = subscribeOverWs(server.url, t.token, JOB_UPDATES, { jobId: job.uuid });
    expect(await late.ended).toBe('complete');
    expect(late.values).toHaveLength(1);
    expect(late.values[0]).toMatchObject({ uuid: job.uuid, status: 'COMPLETED' });

    // A cancellation ends it too.
    const doomed = await execute(t);
    const watching = subscribeOverWs(server.url, t.token, JOB_UPDATES, { jobId: doomed.id });
    await watching.received(1);
    await t.q(CANCEL_JOB, { id: doomed.id });
    expect(await watching.ended).toBe('complete');
    expect((watching.values as UpdatedJob[]).at(-1)).toMatchObject({ status: 'CANCELLED', steps: [{ status: 'CANCELLED' }, { status: 'CANCELLED' }] });
  });

  it('another tenant’s job and a token without workflows:read get an error and no data', async () => {
    const t = await tenant();
    const job = await execute(t);
    const other = await tenant(null);
    const noScope = await limitedToken(t.token, ['auth:read']);
    for (const [query, variables] of [
      [JOB_LOGS, { jobId: job.id }],
      [JOB_LOGS, { jobId: job.uuid, step: 'first' }],
      [JOB_UPDATES, { jobId: job.id }],
    ] as const) {
      const stranger = subscribeOverWs(server.url, other.token, query, variables);
      expect(await stranger.ended).toBe('error');
      expect(stranger.values).toEqual([]);
      expect(stranger.errors[0]?.extensions?.code).toBe('NOT_FOUND');

      const unscoped = subscribeOverWs(server.url, noScope, query, variables);
      expect(await unscoped.ended).toBe('error');
      expect(unscoped.values).toEqual([]);
      expect(unscoped.errors[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'workflows:read' });
    }
    // The scope is checked before anything is read: a job that does not exist is FORBIDDEN too.
    const unscopedMissing = subscribeOverWs(server.url, noScope, JOB_LOGS, { jobId: '00000000-0000-4000-8000-000000000000' });
    expect(await unscopedMissing.ended).toBe('error');
    expect(unscopedMissing.errors[0]?.extensions?.code).toBe('FORBIDDEN');
    const garbage = subscribeOverWs(server.url, t.token, JOB_LOGS, { jobId: job.id, after: 'x; drop' });
    expect(await garbage.ended).toBe('error');
    expect(garbage.values).toEqual([]);
    expect(garbage.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    await t.q(CANCEL_JOB, { id: job.id });
  });
});

/** A client of GET /api/jobs/{id}/logs/stream: its frames as parsed JSONL, and how it closed. */
function streamSocket(jobId: string, options: { token?: string; header?: string; query?: string } = {}) {
  const params = new URLSearchParams(options.query ?? '');
  if (options.token) params.set('token', options.token);
  const qs = params.toString();
  const url = `${server.url.replace(/^http/, 'ws')}/api/jobs/${jobId}/logs/stream${qs ? `?${qs}` : ''}`;
  const ws = new WebSocket(url, options.header ? { headers: { authorization: `Bearer ${options.header}` } } : {});
  const frames: { ts: string; stream: string; step: string; line: string; cursor: string }[][] = [];
  const opened = new Promise<{ open: true } | { status: number; body: string }>((resolve, reject) => {
    ws.once('open', () => resolve({ open: true }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const raw: string[] = [];
  ws.on('message', (data) => {
    const text = data.toString();
    raw.push(text);
    frames.push(text.trimEnd().split('\n').map((l) => JSON.parse(l)));
  });
  return { ws, frames, raw, opened, closed, lines: () => frames.flat() };
}

describe('GET /api/jobs/{id}/logs/stream (WebSocket)', () => {
  it('with a Bearer header: the existing log as one JSONL frame, then new lines, then close 1000 when the job ends', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    await w.claimAndStart(job.uuid, 'first');
    await w.log(job.uuid, 'first', numbered('line', 1, 4));
    await w.log(job.uuid, 'first', ['warn'], 'stderr');

    const socket = streamSocket(job.uuid, { header: t.token });
    expect(await socket.opened).toEqual({ open: true });
    await eventually(async () => socket.frames.length >= 1);
    const backfill = socket.frames[0]!;
    const restLog = (await t.api.get(`/api/jobs/${job.uuid}/logs`)).body.logs as string;
    expect(backfill).toEqual(restLog.trim().split('\n').map((l) => JSON.parse(l)));
    expect(backfill.map((l) => Object.keys(l).sort())).toEqual(backfill.map(() => ['cursor', 'line', 'step', 'stream', 'ts']));
    expect(backfill.map((l) => [l.cursor, l.step, l.stream, l.line])).toEqual([
      ['1', '_server', 'stdout', expect.stringContaining('job created')],
      ['2', 'first', 'stdout', 'line 1'],
      ['3', 'first', 'stdout', 'line 2'],
      ['4', 'first', 'stdout', 'line 3'],
      ['5', 'first', 'stdout', 'line 4'],
      ['6', 'first', 'stderr', 'warn'],
    ]);

    await w.log(job.uuid, 'first', numbered('line', 5, 3));
    await eventually(async () => socket.lines().length >= 9);
    expect(socket.frames.length).toBeGreaterThan(1);
    await w.complete(job.uuid, 'first');
    await w.claimAndStart(job.uuid, 'second');
    await w.log(job.uuid, 'second', ['second 1']);
    await w.complete(job.uuid, 'second');

    expect(await socket.closed).toBe(1000);
    const all = socket.lines();
    expect(all.map((l) => Number(l.cursor))).toEqual(consecutive(1, all.length));
    expect(all).toEqual(((await t.api.get(`/api/jobs/${job.uuid}/logs`)).body.logs as string).trim().split('\n').map((l) => JSON.parse(l)));
    expect(all.slice(6).map((l) => l.line)).toEqual(['line 5', 'line 6', 'line 7', 'second 1']);
    // Every frame is whole JSONL lines, each ending with a newline.
    expect(socket.raw.every((text) => text.endsWith('\n'))).toBe(true);
  });

  it('with ?token= and ?skip_backfill=true: only lines written after connecting', async () => {
    const t = await tenant();
    const job = await execute(t);
    const w = await worker(t.api);
    await w.claimAndStart(job.uuid, 'first');
    await w.log(job.uuid, 'first', numbered('old', 1, 3));
    const existing = 4;

    // ?token= alone: the backfill frame holds everything so far.
    const full = streamSocket(job.uuid, { token: t.token });
    expect(await full.opened).toEqual({ open: true });
    await eventually(async () => full.frames.length >= 1);
    expect(full.frames[0]!.map((l) => Number(l.cursor))).toEqual(consecutive(1, existing));

    const skipping = streamSocket(job.uuid, { token: t.token, query: 'skip_backfill=true' });
    expect(await skipping.opened).toEqual({ open: true });
    // The server takes its starting point once the socket is open; write until something arrives.
    let written = 0;
    await eventually(async () => {
      await w.log(job.uuid, 'first', [`new ${++written}`]);
      return skipping.frames.length > 0;
    });
    await w.complete(job.uuid, 'first');
    await w.claimAndStart(job.uuid, 'second');
    await w.complete(job.uuid, 'second');
    expect(await skipping.closed).toBe(1000);
    expect(await full.closed).toBe(1000);

    const got = skipping.lines();
    expect(got.length).toBeGreaterThan(0);
    expect(got.every((l) => l.line.startsWith('new '))).toBe(true);
    // A gap-free tail of the log, up to its end.
    const firstSeq = Number(got[0]!.cursor);
    expect(firstSeq).toBeGreaterThan(existing);
    expect(got.map((l) => Number(l.cursor))).toEqual(consecutive(firstSeq, existing + written));
    expect(full.lines().map((l) => Number(l.cursor))).toEqual(consecutive(1, existing + written));
  });

  it('refuses a bad token (401), another tenant’s job (404), a token without workflows:read (403) and a garbage cursor (400) before upgrading', async () => {
    const t = await tenant();
    const job = await execute(t);
    const other = await tenant(null);
    const noScope = await limitedToken(t.token, ['auth:read']);

    const refusal = async (options: Parameters<typeof streamSocket>[1], jobId = job.uuid) => {
      const socket = streamSocket(jobId, options);
      const outcome = await socket.opened;
      socket.ws.terminate();
      return outcome;
    };
    expect(await refusal({ header: 'rlt_not_a_token' })).toMatchObject({ status: 401, body: expect.stringContaining('UNAUTHORIZED') });
    expect(await refusal({ token: 'rlt_not_a_token' })).toMatchObject({ status: 401 });
    expect(await refusal({})).toMatchObject({ status: 401 });
    expect(await refusal({ header: other.token })).toMatchObject({ status: 404, body: expect.stringContaining('NOT_FOUND') });
    expect(await refusal({ token: other.token })).toMatchObject({ status: 404 });
    expect(await refusal({ header: t.token }, 'not-a-uuid')).toMatchObject({ status: 404 });
    expect(await refusal({ header: noScope })).toMatchObject({ status: 403, body: expect.stringContaining('workflows:read') });
    expect(await refusal({ header: t.token, query: 'after=garbage' })).toMatchObject({ status: 400, body: expect.stringContaining('INVALID_REQUEST') });
    await t.q(CANCEL_JOB, { id: job.id });
  });
});

describe('runlane workspace push', () => {
  it('uploads a folder, reports an unchanged second push, and prints file:line:col problems with exit code 1', async () => {
    const t = await tenant(null);
    const push = async (dir: string) => {
      let out = '';
      const code = await workspaceCommand({ positionals: ['push', dir], values: { server: server.url, token: t.token } }, (text) => void (out += text));
      return { code, out };
    };
    const first = await push('examples/workspaces/hello');
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^✓ uploaded hello at revision [0-9a-f]{12}: 1 tasks, 2 actions\n$/);
    const stored = (await t.q<WorkspaceQuery>(WORKSPACE, { name: 'hello' })).body.data!.workspace!;
    expect(stored.tasks.map((x) => x.name)).toEqual(['hello-world']);
    expect(first.out).toContain(stored.revision.slice(0, 12));

    const second = await push('examples/workspaces/hello');
    expect(second).toEqual({ code: 0, out: first.out.replace('✓ uploaded', '✓ unchanged') });
    expect((await t.q<WorkspaceQuery>(WORKSPACE, { name: 'hello' })).body.data!.workspace!.revision).toBe(stored.revision);

    const dir = await mkdtemp(join(tmpdir(), 'runlane-push-'));
    try {
      await mkdir(join(dir, '.workflows'));
      await writeFile(join(dir, '.workflows', 'bad.yaml'), 'actions:\n  greet:\n    type: script\n    script: echo hi\ntasks:\n  t:\n    flow:\n      s: { action: nope }\n');
      const bad = await push(dir);
      expect(bad.code).toBe(1);
      expect(bad.out).toBe('.workflows/bad.yaml:8:20: step "s" of task "t" uses action "nope", which is not defined (actions: greet)\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await workspaceList(t)).map((w) => w.name)).toEqual(['hello']);
  });
});
