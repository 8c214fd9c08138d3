import { approvalForStepIn, type Approval } from '../src/modules/approvals/approval';
import { inTenantSql } from '../src/db/tenant-transaction';
import type { Orm } from '../src/db/orm';
import { evaluateGuardrails, type CompiledGuardrails, type GuardrailDecision } from '../src/modules/guardrails/guardrail-engine';
import type { RateLimiter } from '../src/modules/guardrails/rate-limiter';
import type { JournalEvent, RunJournal } from '../src/modules/runs/run-journal';
import { RunDeferred, RunFailure, RunWaiting } from './run-failure';

/** One tool call the model asked for, at its journal position. */
export type GuardedCall = { seq: number; tool: string; toolUseId: string; input: Record<string, unknown>; costSoFarUsdCents: number };

/**
 * What to do with a call the rules let through: run it with `input` (a person's edit when
 * `edited`), or hand the model `rejection` instead of a result. `event` is the decision to journal
 * with the step.
 */
export type GuardVerdict =
  | { run: true; input: Record<string, unknown>; edited: boolean; event: JournalEvent | undefined }
  | { run: false; rejection: string; event: JournalEvent };

/**
 * The guardrails of one run attempt, before every tool call (issue 6). Denials end the run
 * (guardrail_blocked); an approval gate pauses it (an approval row, the run 'waiting'); quiet
 * hours may defer it. Every decision is an event. Replays are safe: a rate limit counts a call
 * once per journal position (its call id), and the approval of a position is found again instead
 * of being asked for twice.
 */
export class ToolGuard {
  constructor(
    private readonly deps: {
      orm: Orm;
      tenantId: string;
      runId: string;
      rules: CompiledGuardrails;
      rateLimiter: RateLimiter;
      tenantTimezone: string;
      journal: RunJournal;
      now?: () => Date;
    },
  ) {}

  async check(call: GuardedCall): Promise<GuardVerdict> {
    if (this.deps.rules.checks.length === 0) return { run: true, input: call.input, edited: false, event: undefined };
    let input = call.input;
    let edited = false;
    let approval: Approval | null = null;
    let fromRule = 0;
    for (;;) {
      const decision = await evaluateGuardrails(
        this.deps.rules,
        { tool: call.tool, input },
        {
          tenantId: this.deps.tenantId,
          runId: this.deps.runId,
          // The journal position: a replayed call is the same call to the rate limiter.
          callId: `${this.deps.runId}:${call.seq}`,
          now: this.deps.now?.() ?? new Date(),
          tenantTimezone: this.deps.tenantTimezone,
          rateLimiter: this.deps.rateLimiter,
        },
        fromRule,
      );
      const event = decisionEvent(call, decision, approval);
      switch (decision.action) {
        case 'allow':
          return { run: true, input, edited, event };
        case 'deny':
          await this.deps.journal.event(event.type, event.detail);
          throw new RunFailure('guardrail_blocked', `Tool ${call.tool} refused by guardrail ${decision.ruleIndex} (${decision.ruleType}): ${decision.reason}`);
        case 'defer':
          await this.deps.journal.event(event.type, event.detail);
          throw new RunDeferred(decision.until, decision.reason);
        case 'pause': {
          // Once a person approved this call, later gates do not ask again.
          if (approval?.status === 'approved') {
            fromRule = decision.ruleIndex + 1;
            continue;
          }
          approval = await this.existingApproval(call.seq);
          if (!approval) {
            const requested = await this.deps.journal.awaitApproval(event, {
              runId: this.deps.runId,
              stepSeq: call.seq,
              tool: call.tool,
              toolUseId: call.toolUseId,
              input: call.input,
              ruleIndex: decision.ruleIndex,
              reason: decision.reason,
              onReject: decision.onReject,
              expiresAt: decision.expiresAfterSeconds ? new Date(Date.now() + decision.expiresAfterSeconds * 1000) : null,
              costSoFarUsdCents: call.costSoFarUsdCents,
            });
            throw new RunWaiting({ approvalId: requested.id });
          }
          if (approval.status === 'pending') {
            // Claimed while still undecided (a sweep after a crash in the pause): wait again.
            await this.deps.journal.awaitApproval(event, approval);
            throw new RunWaiting({ approvalId: approval.id });
          }
          if (approval.status === 'approved') {
            if (approval.decidedInput) {
              input = approval.decidedInput;
              edited = true;
            }
            fromRule = decision.ruleIndex + 1;
            continue;
          }
          // Rejected, or expired (expiry rejects).
          const by = approval.status === 'expired' ? 'the approval expired' : `rejected by ${approval.decidedBy ?? 'a reviewer'}`;
          const why = `Tool ${call.tool} was not approved: ${by}${approval.decisionNote ? ` (${approval.decisionNote})` : ''}.`;
          if (approval.onReject === 'fail') {
            await this.deps.journal.event(event.type, event.detail);
            throw new RunFailure('guardrail_blocked', why);
          }
          return { run: false, rejection: why, event };
        }
      }
    }
  }

  private existingApproval(seq: number): Promise<Approval | null> {
    return inTenantSql(this.deps.orm, this.deps.tenantId, (sql) => approvalForStepIn(sql, this.deps.runId, seq));
  }
}

/** The `guardrail` event of a decision: the rule and the reason, never the call's arguments. */
function decisionEvent(call: GuardedCall, decision: GuardrailDecision, approval: Approval | null): JournalEvent {
  const detail: Record<string, unknown> = { seq: call.seq, tool: call.tool, action: decision.action };
  if (decision.action !== 'allow') Object.assign(detail, { rule: decision.ruleIndex, ruleType: decision.ruleType, reason: decision.reason });
  if (decision.action === 'defer') detail.until = decision.until.toISOString();
  if (approval && approval.status !== 'pending') Object.assign(detail, { approvalId: approval.id, approval: approval.status });
  return { type: 'guardrail', detail };
}
