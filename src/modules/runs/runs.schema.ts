import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { connectionOf } from '../../graphql/connection';
import { entityId, optionalEntityId } from '../../graphql/ids';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import { FAILURE_CATEGORIES, RUN_STATUSES, type AgentEvent, type AgentRun } from './agent-run.entity';
import type { BillingDay, RunService, StepView } from './run.service';

declare module '../../platform/services' {
  interface Services {
    runs: RunService;
  }
}

const read = { scope: 'runs:read' } as const;
const write = { scope: 'runs:write' } as const;
const upper = (value: string) => value.toUpperCase() as never;

const RunStatusEnum = builder.enumType('RunStatus', { values: RUN_STATUSES.map((s) => s.toUpperCase()) as ['QUEUED'] });
const FailureCategoryEnum = builder.enumType('FailureCategory', {
  values: FAILURE_CATEGORIES.map((s) => s.toUpperCase()) as ['AUTH_FAILED'],
});
const StepKindEnum = builder.enumType('RunStepKind', { values: ['LLM', 'TOOL'] as const });

registerNodeLoader('Run', (ctx, id) => ctx.services.runs.find(principalOf(ctx).tenantId, id));

const RunStepRef = builder.objectRef<StepView>('RunStep').implement({
  description: 'One journaled step: an LLM turn or a tool call, with its tokens and cost.',
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    kind: t.field({ type: StepKindEnum, resolve: (s) => upper(s.kind) }),
    name: t.exposeString('name'),
    input: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.input }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (s) => s.output }),
    isError: t.exposeBoolean('isError'),
    model: t.exposeString('model', { nullable: true }),
    inputTokens: t.exposeInt('inputTokens'),
    outputTokens: t.exposeInt('outputTokens'),
    cacheReadTokens: t.exposeInt('cacheReadTokens'),
    cacheWriteTokens: t.exposeInt('cacheWriteTokens'),
    costUsdCents: t.exposeFloat('costUsdCents'),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    completedAt: t.expose('completedAt', { type: 'DateTime' }),
  }),
});

const RunEventRef = builder.objectRef<AgentEvent>('RunEvent').implement({
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    type: t.exposeString('type'),
    detail: t.field({ type: 'JSON', resolve: (e) => e.detail }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

export const RunRef = builder.node(builder.objectRef<AgentRun>('Run'), {
  description: 'An agent run: queued, driven by a worker through LLM turns and tool calls, journaled.',
  authScopes: read,
  id: { resolve: (r) => r.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    blueprint: t.exposeString('agentBlueprint'),
    status: t.field({ type: RunStatusEnum, resolve: (r) => upper(r.status) }),
    input: t.field({ type: 'JSON', resolve: (r) => r.input }),
    output: t.field({ type: 'JSON', nullable: true, resolve: (r) => r.output ?? null }),
    runAt: t.expose('runAt', { type: 'DateTime' }),
    budgetUsdCents: t.float({ nullable: true, resolve: (r) => (r.budgetUsdCents === null ? null : Number(r.budgetUsdCents)) }),
    deadlineSeconds: t.exposeInt('deadlineSeconds'),
    deadlineAt: t.expose('deadlineAt', { type: 'DateTime', nullable: true }),
    costUsdCents: t.float({ description: 'US cents, to six decimals.', resolve: (r) => Number(r.costUsdCents) }),
    platformFeeCents: t.float({ resolve: (r) => Number(r.platformFeeCents) }),
    inputTokens: t.int({ resolve: (r) => Number(r.inputTokens) }),
    outputTokens: t.int({ resolve: (r) => Number(r.outputTokens) }),
    cacheReadTokens: t.int({ resolve: (r) => Number(r.cacheReadTokens) }),
    cacheWriteTokens: t.int({ resolve: (r) => Number(r.cacheWriteTokens) }),
    consecutiveFailures: t.exposeInt('consecutiveFailures'),
    failureCategory: t.field({
      type: FailureCategoryEnum,
      nullable: true,
      resolve: (r) => (r.failureCategory ? upper(r.failureCategory) : null),
    }),
    failureDetail: t.exposeString('failureDetail', { nullable: true }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    attempts: t.exposeInt('attempts', { description: 'How many times a worker has claimed the run.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    steps: t.field({
      type: [RunStepRef],
      description: 'In seq order.',
      resolve: (r, _args, ctx) => ctx.services.runs.steps(principalOf(ctx).tenantId, r.id),
    }),
    events: t.field({
      type: [RunEventRef],
      description: 'State changes, retries, guardrail decisions and warnings, in order.',
      resolve: (r, _args, ctx) => ctx.services.runs.events(principalOf(ctx).tenantId, r.id),
    }),
  }),
});

const BillingDayRef = builder.objectRef<BillingDay>('BillingDay').implement({
  fields: (t) => ({
    day: t.field({ type: 'Date', resolve: (d) => d.day }),
    blueprint: t.exposeString('agentBlueprint'),
    runs: t.exposeInt('runs'),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
    costUsdCents: t.exposeFloat('costUsdCents'),
    platformFeeCents: t.exposeFloat('platformFeeCents'),
    inputTokens: t.exposeInt('inputTokens'),
    outputTokens: t.exposeInt('outputTokens'),
    cacheReadTokens: t.exposeInt('cacheReadTokens'),
    cacheWriteTokens: t.exposeInt('cacheWriteTokens'),
  }),
});

const EnqueueRunInputRef = builder.inputType('EnqueueRunInput', {
  description: 'Anything omitted comes from the agent config, then the blueprint.',
  fields: (t) => ({
    input: t.field({ type: 'JSON' }),
    budgetUsdCents: t.float(),
    deadlineSeconds: t.int(),
    runAt: t.field({ type: 'DateTime', description: 'Run no earlier than this.' }),
    idempotencyKey: t.string({ description: 'A second enqueue with the same key answers the first run.' }),
  }),
});

builder.queryFields((t) => ({
  runs: t.connection({
    type: RunRef,
    authScopes: read,
    description: 'Newest first.',
    args: { blueprint: t.arg.string(), status: t.arg({ type: RunStatusEnum }) },
    resolve: async (_root, args, ctx) =>
      connectionOf(
        await ctx.services.runs.list(principalOf(ctx).tenantId, {
          first: args.first,
          after: args.after,
          blueprint: args.blueprint,
          status: args.status ? (String(args.status).toLowerCase() as never) : null,
        }),
        args,
      ),
  }, { name: 'RunConnection' }, { name: 'RunEdge' }),
  run: t.field({
    type: RunRef,
    nullable: true,
    authScopes: read,
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, { id }, ctx) => {
      const uuid = optionalEntityId(String(id), 'Run');
      return uuid ? ctx.services.runs.find(principalOf(ctx).tenantId, uuid) : null;
    },
  }),
  billingDaily: t.field({
    type: [BillingDayRef],
    authScopes: { scope: 'billing:read' },
    description: 'Runs, tokens and cost per blueprint per UTC day (by completion).',
    args: { from: t.arg({ type: 'Date', required: true }), to: t.arg({ type: 'Date', required: true }) },
    resolve: (_root, { from, to }, ctx) =>
      ctx.services.runs.billingDaily(principalOf(ctx).tenantId, new Date(String(from)), new Date(String(to))),
  }),
}));

builder.mutationFields((t) => ({
  enqueueRun: t.field({
    type: RunRef,
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }), input: t.arg({ type: EnqueueRunInputRef }) },
    errors: { types: [InputError, NotFoundError, ConflictError], directResult: true, union: { name: 'EnqueueRunResult' } },
    resolve: async (_root, { blueprint, input }, ctx) => {
      const { run } = await ctx.services.runs.enqueue(actorOf(principalOf(ctx)), blueprint, {
        input: input?.input ?? undefined,
        budgetUsdCents: input?.budgetUsdCents,
        deadlineSeconds: input?.deadlineSeconds,
        runAt: input?.runAt as Date | undefined,
        idempotencyKey: input?.idempotencyKey,
      });
      return run;
    },
  }),
  cancelRun: t.field({
    type: RunRef,
    authScopes: write,
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError, ConflictError], directResult: true, union: { name: 'CancelRunResult' } },
    resolve: (_root, { id }, ctx) => ctx.services.runs.cancel(actorOf(principalOf(ctx)), entityId(String(id), 'Run')),
  }),
}));
