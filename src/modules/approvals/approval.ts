import { randomUUID } from 'node:crypto';
import type { SqlExecutor } from '../../db/tenant-transaction';

/**
 * An approval: a tool call an approval_gate rule paused until a person decides (issue 6). The
 * run waits without a lease; the decision puts it back in the queue and the worker that claims it
 * reads the decision here, by the call's journal position.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';
export type OnReject = 'fail' | 'inform_model';

export type Approval = {
  tenantId: string;
  id: string;
  runId: string;
  stepSeq: number;
  tool: string;
  toolUseId: string;
  input: Record<string, unknown>;
  ruleIndex: number;
  reason: string;
  onReject: OnReject;
  costSoFarUsdCents: number;
  status: ApprovalStatus;
  expiresAt: Date | null;
  /** Arguments the approver substituted for the model's; null when approved as asked. */
  decidedInput: Record<string, unknown> | null;
  decisionNote: string | null;
  decidedByAccountId: string | null;
  decidedBy: string | null;
  decidedAt: Date | null;
  createdAt: Date;
};

/** What a worker records when a gate pauses a call; the rest of an Approval is the decision. */
export type ApprovalRequest = Pick<
  Approval,
  'runId' | 'stepSeq' | 'tool' | 'toolUseId' | 'input' | 'ruleIndex' | 'reason' | 'onReject' | 'expiresAt' | 'costSoFarUsdCents'
>;

/** An approvals row (snake_case, as SQL returns it). */
export function approvalFromRow(r: Record<string, any>): Approval {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    tenantId: r.tenant_id,
    id: r.id,
    runId: r.run_id,
    stepSeq: Number(r.step_seq),
    tool: r.tool,
    toolUseId: r.tool_use_id,
    input: r.input,
    ruleIndex: Number(r.rule_index),
    reason: r.reason,
    onReject: r.on_reject,
    costSoFarUsdCents: Number(r.cost_so_far_usd_cents),
    status: r.status,
    expiresAt: date(r.expires_at),
    decidedInput: r.decided_input ?? null,
    decisionNote: r.decision_note ?? null,
    decidedByAccountId: r.decided_by_account_id ?? null,
    decidedBy: r.decided_by ?? null,
    decidedAt: date(r.decided_at),
    createdAt: new Date(r.created_at),
  };
}

/**
 * Records the paused call, in the worker's tenant transaction. Idempotent per (run, step): a
 * replay that reaches the same call again gets the approval already there, decided or not.
 */
export async function requestApprovalIn(sql: SqlExecutor, tenantId: string, request: ApprovalRequest): Promise<{ approval: Approval; created: boolean }> {
  const inserted: Record<string, any>[] = await sql.execute(
    `insert into approvals (tenant_id, id, run_id, step_seq, tool, tool_use_id, input, rule_index, reason, on_reject, expires_at, cost_so_far_usd_cents, created_at)
     values (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?, ?, ?)
     on conflict (tenant_id, run_id, step_seq) do nothing
     returning *`,
    [
      tenantId,
      randomUUID(),
      request.runId,
      request.stepSeq,
      request.tool,
      request.toolUseId,
      JSON.stringify(request.input),
      request.ruleIndex,
      request.reason,
      request.onReject,
      request.expiresAt,
      request.costSoFarUsdCents,
      // Millisecond precision, as keyset cursors carry it.
      new Date(),
    ],
  );
  if (inserted[0]) return { approval: approvalFromRow(inserted[0]), created: true };
  return { approval: (await approvalForStepIn(sql, request.runId, request.stepSeq))!, created: false };
}

/** The approval of the call at this journal position, if one was requested. */
export async function approvalForStepIn(sql: SqlExecutor, runId: string, stepSeq: number): Promise<Approval | null> {
  const [row]: Record<string, any>[] = await sql.execute(`select * from approvals where run_id = ? and step_seq = ?`, [runId, stepSeq]);
  return row ? approvalFromRow(row) : null;
}
