import { actorOf } from '../../platform/auth';
import { listEnvelope, pageArgsFromQuery, type Route } from '../../platform/rest';
import type { Approval } from './approval';

/** An approval in the seeds' snake_case. */
export function approvalJson(a: Approval) {
  return {
    id: a.id,
    tenant_id: a.tenantId,
    run_id: a.runId,
    step_seq: a.stepSeq,
    tool: a.tool,
    input: a.input,
    reason: a.reason,
    rule_index: a.ruleIndex,
    on_reject: a.onReject,
    status: a.status,
    expires_at: a.expiresAt?.toISOString() ?? null,
    cost_so_far_usd_cents: a.costSoFarUsdCents,
    decided_input: a.decidedInput,
    decision_note: a.decisionNote,
    decided_by: a.decidedBy,
    decided_by_account_id: a.decidedByAccountId,
    decided_at: a.decidedAt?.toISOString() ?? null,
    created_at: a.createdAt.toISOString(),
  };
}

type Body = Record<string, unknown>;
const bodyOf = (body: unknown): Body => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : {});

export const approvalRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/v1/approvals',
    scope: 'runs:read',
    handler: async ({ principal, query, services }) => ({
      status: 200,
      body: listEnvelope(
        await services.approvals.list(principal!.tenantId, {
          ...pageArgsFromQuery(query),
          status: (query.get('status') ?? undefined) as never,
        }),
        approvalJson,
      ),
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/approvals/{id}',
    scope: 'runs:read',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: approvalJson(await services.approvals.get(principal!.tenantId, params.id!)),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/approvals/{id}/decide',
    scope: 'approvals:write',
    handler: async ({ principal, params, body, services }) => {
      // The rest of the body goes to the service as options, which refuses unknown fields.
      const { decision, ...options } = bodyOf(body);
      return {
        status: 200,
        body: approvalJson(await services.approvals.decide(actorOf(principal!), params.id!, decision as never, options)),
      };
    },
  },
];
