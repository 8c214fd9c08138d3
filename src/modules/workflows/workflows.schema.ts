import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { connectionOf } from '../../graphql/connection';
import { ErrorInterface } from '../../graphql/errors';
import { entityId, optionalEntityId } from '../../graphql/ids';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import { seqAfter, type LogLine } from '../logs/log-lines';
import { LogLineConnectionRef, LogLineRef, logConnection } from '../logs/logs.schema';
import type { JobStreamService } from './job-stream';
import { requiredTags } from './definition/required-tags';
import type { ActionDef, DefinitionError, InputField, StepDef, TaskDef } from './definition/types';
import type { Job, JobStep } from './job';
import { JOB_STATUSES, type JobService } from './job.service';
import type { WorkerProtocolService } from './worker-protocol.service';
import { WorkspaceInvalidError } from './workflow.errors';
import { MAX_ARCHIVE_BYTES, type Workspace, type WorkspaceService } from './workspace.service';

declare module '../../platform/services' {
  interface Services {
    workspaces: WorkspaceService;
    jobs: JobService;
    workerProtocol: WorkerProtocolService;
    jobStreams: JobStreamService;
  }
}

const read = { scope: 'workflows:read' } as const;
const write = { scope: 'workflows:write' } as const;
const upper = (value: string) => value.toUpperCase() as never;
/**
 * Lists read from a workspace's parsed definition, already in memory: no resolver work per item,
 * so they do not multiply the query's complexity (with the default ×10 per level, `workspaces`
 * with tasks, steps and inputs exceeded the limit).
 */
const inMemoryList = { field: 1, multiplier: 1 } as const;

export const JobStatusEnum = builder.enumType('JobStatus', { values: JOB_STATUSES.map((s) => s.toUpperCase()) as ['PENDING'] });
const StepStatusEnum = builder.enumType('JobStepStatus', {
  values: ['PENDING', 'READY', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED'] as const,
});
const ActionTypeEnum = builder.enumType('ActionType', { values: ['SCRIPT', 'DOCKER', 'POD', 'AGENT'] as const });
const TaskModeEnum = builder.enumType('TaskMode', { values: ['DISTRIBUTED', 'LOCAL'] as const });

registerNodeLoader('Job', (ctx, id) => ctx.services.jobs.find(principalOf(ctx).tenantId, id));

const InputFieldRef = builder.objectRef<[string, InputField]>('TaskInputField').implement({
  fields: (t) => ({
    name: t.string({ resolve: ([name]) => name }),
    type: t.string({ resolve: ([, f]) => f.type }),
    required: t.boolean({ resolve: ([, f]) => f.required }),
    default: t.field({ type: 'JSON', nullable: true, resolve: ([, f]) => (f.secret ? null : (f.default ?? null)) }),
    description: t.string({ nullable: true, resolve: ([, f]) => f.description ?? null }),
    options: t.field({ type: 'JSON', nullable: true, resolve: ([, f]) => f.options ?? null }),
    secret: t.boolean({ resolve: ([, f]) => f.secret ?? false }),
  }),
});

const ActionRef = builder.objectRef<ActionDef>('WorkspaceAction').implement({
  description: 'An action of a workspace: what a step runs.',
  fields: (t) => ({
    name: t.exposeString('name'),
    type: t.field({ type: ActionTypeEnum, resolve: (a) => upper(a.type) }),
    runner: t.string({ nullable: true, resolve: (a) => (a.type === 'script' ? (a.runner ?? 'local') : null) }),
    description: t.string({ nullable: true, resolve: (a) => a.description ?? null }),
    image: t.string({ nullable: true, resolve: (a) => a.image ?? null }),
    blueprint: t.string({ nullable: true, resolve: (a) => a.blueprint ?? null }),
    requiredTags: t.stringList({ description: 'Tags a worker needs to run it.', resolve: (a) => requiredTags(a) }),
    input: t.field({ type: [InputFieldRef], complexity: inMemoryList, resolve: (a) => Object.entries(a.input) }),
  }),
});

const TaskStepRef = builder.objectRef<StepDef>('TaskStep').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    action: t.exposeString('action'),
    dependsOn: t.exposeStringList('dependsOn'),
    continueOnFailure: t.exposeBoolean('continueOnFailure'),
    when: t.string({ nullable: true, resolve: (s) => s.when ?? null }),
    timeoutSeconds: t.int({ nullable: true, resolve: (s) => s.timeoutSeconds ?? null }),
  }),
});

const TaskRef = builder.objectRef<TaskDef>('WorkspaceTask').implement({
  description: 'A task: a DAG of steps, executed as a job.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.string({ nullable: true, resolve: (x) => x.description ?? null }),
    mode: t.field({ type: TaskModeEnum, resolve: (x) => upper(x.mode) }),
    folder: t.string({ nullable: true, resolve: (x) => x.folder ?? null }),
    timeoutSeconds: t.int({ nullable: true, resolve: (x) => x.timeoutSeconds ?? null }),
    input: t.field({ type: [InputFieldRef], complexity: inMemoryList, resolve: (x) => Object.entries(x.input) }),
    steps: t.field({ type: [TaskStepRef], complexity: inMemoryList, resolve: (x) => x.flow }),
  }),
});

const WorkspaceRef = builder.objectRef<Workspace>('Workspace').implement({
  description: 'A versioned bundle of files whose .workflows/*.yaml define actions and tasks.',
  fields: (t) => ({
    name: t.exposeString('name'),
    revision: t.exposeString('revision', { description: 'Content hash of the files (what workers send in If-None-Match).' }),
    fileCount: t.exposeInt('fileCount'),
    sizeBytes: t.exposeInt('sizeBytes'),
    tasks: t.field({ type: [TaskRef], complexity: inMemoryList, resolve: (w) => Object.values(w.definition.tasks) }),
    actions: t.field({ type: [ActionRef], complexity: inMemoryList, resolve: (w) => Object.values(w.definition.actions) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const JobStepRef = builder.objectRef<JobStep>('JobStep').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    actionName: t.exposeString('actionName'),
    actionType: t.field({ type: ActionTypeEnum, resolve: (s) => upper(s.actionType) }),
    runner: t.exposeString('runner'),
    status: t.field({ type: StepStatusEnum, resolve: (s) => upper(s.status) }),
    input: t.field({ type: 'JSON', nullable: true, description: 'Rendered when the step was claimed.', resolve: (s) => s.input }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.output ?? null }),
    dependsOn: t.exposeStringList('dependsOn'),
    continueOnFailure: t.exposeBoolean('continueOnFailure'),
    requiredTags: t.exposeStringList('requiredTags'),
    workerId: t.field({ type: 'UUID', nullable: true, resolve: (s) => s.workerId }),
    runId: t.field({ type: 'UUID', nullable: true, description: 'Agent steps: the run that carries the step out.', resolve: (s) => s.runId }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
  }),
});

export const JobRef = builder.node(builder.objectRef<Job>('Job'), {
  description: 'One execution of a workspace task.',
  authScopes: read,
  id: { resolve: (j) => j.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    workspace: t.exposeString('workspace'),
    revision: t.exposeString('revision'),
    taskName: t.exposeString('taskName'),
    mode: t.field({ type: TaskModeEnum, resolve: (j) => upper(j.mode) }),
    status: t.field({ type: JobStatusEnum, resolve: (j) => upper(j.status) }),
    input: t.field({ type: 'JSON', resolve: (j) => j.input }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (j) => j.output ?? null }),
    errorMessage: t.exposeString('errorMessage', { nullable: true }),
    sourceType: t.exposeString('sourceType'),
    sourceId: t.exposeString('sourceId', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    steps: t.field({ type: [JobStepRef], description: 'In flow order.', resolve: (j, _args, ctx) => ctx.services.jobs.steps(principalOf(ctx).tenantId, j.id) }),
    logs: t.connection(
      {
        type: LogLineRef,
        description: 'Oldest first, every step (server events under step _server); `after` is a line cursor, and jobLogs resumes from it too.',
        args: { step: t.arg.string({ description: 'Only this step’s lines.' }) },
        resolve: async (job, args, ctx) => {
          const page = await ctx.services.logs.lines(principalOf(ctx).tenantId, 'job', job.id, { ...args, step: args.step ?? null });
          return logConnection(page, args);
        },
      },
      LogLineConnectionRef,
    ),
  }),
});

const DefinitionProblemRef = builder.objectRef<DefinitionError>('WorkflowProblem').implement({
  fields: (t) => ({
    file: t.exposeString('file'),
    line: t.exposeInt('line'),
    column: t.exposeInt('column'),
    message: t.exposeString('message'),
  }),
});

builder.objectType(WorkspaceInvalidError, {
  name: 'WorkspaceInvalidError',
  description: 'The workflow files were refused; nothing was stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ problems: t.field({ type: [DefinitionProblemRef], resolve: (e) => e.problems }) }),
});

const UploadWorkspacePayloadRef = builder.simpleObject('UploadWorkspacePayload', {
  fields: (t) => ({
    workspace: t.field({ type: WorkspaceRef }),
    changed: t.boolean({ description: 'False when the files were already the current revision.' }),
  }),
});

const ExecuteTaskPayloadRef = builder.simpleObject('ExecuteTaskPayload', { fields: (t) => ({ job: t.field({ type: JobRef }) }) });

builder.queryFields((t) => ({
  workspaces: t.field({ type: [WorkspaceRef], authScopes: read, resolve: (_r, _a, ctx) => ctx.services.workspaces.list(principalOf(ctx).tenantId) }),
  workspace: t.field({
    type: WorkspaceRef,
    nullable: true,
    authScopes: read,
    args: { name: t.arg.string({ required: true }) },
    resolve: (_r, { name }, ctx) => ctx.services.workspaces.find(principalOf(ctx).tenantId, name),
  }),
  jobs: t.connection({
    type: JobRef,
    authScopes: read,
    description: 'Newest first.',
    args: { workspace: t.arg.string(), task: t.arg.string(), status: t.arg({ type: JobStatusEnum }) },
    resolve: async (_r, args, ctx) =>
      connectionOf(
        await ctx.services.jobs.list(principalOf(ctx).tenantId, {
          first: args.first,
          after: args.after,
          workspace: args.workspace,
          taskName: args.task,
          status: args.status ? (String(args.status).toLowerCase() as never) : null,
        }),
        args,
      ),
  }, { name: 'JobConnection' }, { name: 'JobEdge' }),
  job: t.field({
    type: JobRef,
    nullable: true,
    authScopes: read,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_r, { id }, ctx) => {
      const uuid = optionalEntityId(String(id), 'Job');
      return uuid ? ctx.services.jobs.find(principalOf(ctx).tenantId, uuid) : null;
    },
  }),
}));

builder.mutationFields((t) => ({
  uploadWorkspace: t.field({
    type: UploadWorkspacePayloadRef,
    authScopes: write,
    description: 'A tar.gz of the workspace folder; its .workflows/*.yaml are checked before anything is stored.',
    args: { name: t.arg.string({ required: true }), archive: t.arg({ type: 'File', required: true }) },
    errors: { types: [WorkspaceInvalidError, InputError], directResult: true, union: { name: 'UploadWorkspaceResult' } },
    resolve: async (_r, { name, archive }, ctx) => {
      if (archive.size > MAX_ARCHIVE_BYTES) throw new InputError(`The archive is larger than ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB.`, 'archive');
      return ctx.services.workspaces.upload(actorOf(principalOf(ctx)), name, Buffer.from(await archive.arrayBuffer()));
    },
  }),
  deleteWorkspace: t.field({
    type: WorkspaceRef,
    authScopes: write,
    args: { name: t.arg.string({ required: true }) },
    errors: { types: [InputError, NotFoundError], directResult: true, union: { name: 'DeleteWorkspaceResult' } },
    resolve: (_r, { name }, ctx) => ctx.services.workspaces.delete(actorOf(principalOf(ctx)), name),
  }),
  executeTask: t.field({
    type: ExecuteTaskPayloadRef,
    authScopes: write,
    args: { workspace: t.arg.string({ required: true }), task: t.arg.string({ required: true }), input: t.arg({ type: 'JSON' }) },
    errors: { types: [InputError, NotFoundError], directResult: true, union: { name: 'ExecuteTaskResult' } },
    resolve: async (_r, { workspace, task, input }, ctx) => ({
      job: await ctx.services.jobs.execute(actorOf(principalOf(ctx)), workspace, task, input ?? undefined, { type: 'user' }),
    }),
  }),
  cancelJob: t.field({
    type: JobRef,
    authScopes: write,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'CancelJobResult' } },
    resolve: (_r, { id }, ctx) => ctx.services.jobs.cancel(actorOf(principalOf(ctx)), entityId(String(id), 'Job')),
  }),
}));

// Scope and tenant are checked when a subscription starts: the scope by scope-auth, the tenant by
// reading the job under row-level security (another tenant's job is "not found", and no data).
builder.subscriptionFields((t) => ({
  jobLogs: t.field({
    type: LogLineRef,
    description: 'The job’s log (one step’s, with `step`) after the cursor, then live; completes once the job has ended.',
    authScopes: read,
    args: { jobId: t.arg.id({ required: true }), step: t.arg.string(), after: t.arg.string() },
    subscribe: (_r, args, ctx) =>
      ctx.services.jobStreams.logs(principalOf(ctx).tenantId, entityId(String(args.jobId), 'Job'), seqAfter(args.after), args.step ?? null),
    resolve: (line: LogLine) => line,
  }),
  jobUpdates: t.field({
    type: JobRef,
    description: 'The job now and after every status, step or log change; completes with its final state.',
    authScopes: read,
    args: { jobId: t.arg.id({ required: true }) },
    subscribe: (_r, args, ctx) => ctx.services.jobStreams.updates(principalOf(ctx).tenantId, entityId(String(args.jobId), 'Job')),
    resolve: (job: Job) => job,
  }),
}));
