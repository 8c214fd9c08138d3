import { actorOf } from '../../platform/auth';
import { listEnvelope, pageArgsFromQuery, type Route } from '../../platform/rest';
import type { AgentRun } from './agent-run.entity';
import type { StepView } from './run.service';

/** Seed 002's AgentRunRecord (scheduler plumbing such as the lease stays internal). */
export function runJson(r: AgentRun) {
  return {
    id: r.id,
    tenant_id: r.tenantId,
    agent_blueprint: r.agentBlueprint,
    status: r.status,
    input: r.input,
    output: r.output ?? null,
    run_at: r.runAt.toISOString(),
    budget_usd_cents: r.budgetUsdCents === null ? null : Number(r.budgetUsdCents),
    deadline_at: r.deadlineAt?.toISOString() ?? null,
    cost_usd_cents: Number(r.costUsdCents),
    platform_fee_cents: Number(r.platformFeeCents),
    consecutive_failures: r.consecutiveFailures,
    failure_category: r.failureCategory ?? null,
    failure_detail: r.failureDetail ?? null,
    created_at: r.createdAt.toISOString(),
    updated_at: r.updatedAt.toISOString(),
  };
}

export function stepJson(s: StepView) {
  return {
    seq: s.seq,
    kind: s.kind,
    name: s.name,
    input: s.input,
    output: s.output,
    is_error: s.isError,
    model: s.model,
    input_tokens: s.inputTokens,
    output_tokens: s.outputTokens,
    cache_read_tokens: s.cacheReadTokens,
    cache_write_tokens: s.cacheWriteTokens,
    cost_usd_cents: s.costUsdCents,
    started_at: s.startedAt.toISOString(),
    completed_at: s.completedAt.toISOString(),
  };
}

type Body = Record<string, unknown>;
const bodyOf = (body: unknown): Body => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : {});

export const runRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/agents/{blueprint}/runs',
    scope: 'runs:write',
    handler: async ({ principal, params, body, services }) => {
      const b = bodyOf(body);
      const known = new Set(['input', 'run_at', 'budget_usd_cents', 'deadline_seconds', 'idempotency_key']);
      const unknown = Object.keys(b).filter((k) => !known.has(k));
      const { run, created } = await services.runs.enqueue(actorOf(principal!), params.blueprint!, {
        input: b.input,
        runAt: b.run_at as never,
        budgetUsdCents: b.budget_usd_cents as never,
        deadlineSeconds: b.deadline_seconds as never,
        idempotencyKey: b.idempotency_key as never,
        ...Object.fromEntries(unknown.map((k) => [k, b[k]])),
      });
      return { status: created ? 201 : 200, body: runJson(run) };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/agents/{blueprint}/runs',
    scope: 'runs:read',
    handler: async ({ principal, params, query, services }) => ({
      status: 200,
      body: listEnvelope(
        await services.runs.list(principal!.tenantId, {
          ...pageArgsFromQuery(query),
          blueprint: params.blueprint!,
          status: (query.get('status') ?? undefined) as never,
        }),
        runJson,
      ),
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/agents/{blueprint}/runs/{id}',
    scope: 'runs:read',
    handler: async ({ principal, params, services }) => {
      const run = await services.runs.get(principal!.tenantId, params.id!, params.blueprint!);
      const steps = await services.runs.steps(principal!.tenantId, run.id);
      return { status: 200, body: { ...runJson(run), steps: steps.map(stepJson) } };
    },
  },
  {
    method: 'POST',
    path: '/api/v1/agents/{blueprint}/runs/{id}/cancel',
    scope: 'runs:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: runJson(await services.runs.cancel(actorOf(principal!), params.id!, params.blueprint!)),
    }),
  },
];
