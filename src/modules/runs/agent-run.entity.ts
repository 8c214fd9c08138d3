import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const RUN_STATUSES = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

export const FAILURE_CATEGORIES = [
  'auth_failed',
  'tool_failed',
  'guardrail_blocked',
  'config_error',
  'timeout',
  'budget_exhausted',
  'cancelled',
] as const;
export type FailureCategory = (typeof FAILURE_CATEGORIES)[number];

// The read side of a run. Writes by the lease holder are fenced raw SQL (run-journal.ts).
export const AgentRunSchema = defineEntity({
  name: 'AgentRun',
  tableName: 'agent_runs',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    configId: p.uuid(),
    agentBlueprint: p.text(),
    status: p.text().$type<RunStatus>(),
    input: p.json<unknown>(),
    output: p.json<unknown>().nullable(),
    runAt: p.datetime(),
    budgetUsdCents: p.decimal('number').nullable(),
    deadlineSeconds: p.integer(),
    deadlineAt: p.datetime().nullable(),
    costUsdCents: p.decimal('number'),
    platformFeeCents: p.decimal('number'),
    inputTokens: p.bigint('number'),
    outputTokens: p.bigint('number'),
    cacheReadTokens: p.bigint('number'),
    cacheWriteTokens: p.bigint('number'),
    consecutiveFailures: p.integer(),
    failureCategory: p.text().$type<FailureCategory>().nullable(),
    failureDetail: p.text().nullable(),
    idempotencyKey: p.text().nullable(),
    source: p.text(),
    leaseToken: p.uuid().nullable().hidden(),
    leaseOwner: p.text().nullable().hidden(),
    leaseExpiresAt: p.datetime().nullable().hidden(),
    attempts: p.integer(),
    logSeq: p.bigint('number'),
    eventSeq: p.bigint('number'),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()),
  }),
});
export type AgentRun = InferEntity<typeof AgentRunSchema>;

export const AgentStepSchema = defineEntity({
  name: 'AgentStep',
  tableName: 'agent_steps',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    runId: p.uuid().primary(),
    seq: p.integer().primary(),
    kind: p.text().$type<'llm' | 'tool'>(),
    name: p.text(),
    contentHash: p.text(),
    input: p.json<unknown>().nullable(),
    output: p.json<unknown>().nullable(),
    isError: p.boolean(),
    model: p.text().nullable(),
    inputTokens: p.integer(),
    outputTokens: p.integer(),
    cacheReadTokens: p.integer(),
    cacheWriteTokens: p.integer(),
    costUsdCents: p.decimal('number'),
    startedAt: p.datetime(),
    completedAt: p.datetime(),
  }),
});
export type AgentStep = InferEntity<typeof AgentStepSchema>;

export const AgentEventSchema = defineEntity({
  name: 'AgentEvent',
  tableName: 'agent_events',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    runId: p.uuid().primary(),
    seq: p.bigint('number').primary(),
    type: p.text(),
    detail: p.json<Record<string, unknown>>(),
    createdAt: p.datetime(),
  }),
});
export type AgentEvent = InferEntity<typeof AgentEventSchema>;
