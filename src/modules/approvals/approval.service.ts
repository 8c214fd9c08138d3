import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { afterCondition, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import type { Bus } from '../../platform/bus';
import { recordAuditSql } from '../audit/audit.service';
import { appendEvent } from '../runs/run.service';
import { RUN_QUEUE_CHANNEL, runChannel, type RunChanged } from '../runs/run-channels';
import { approvalFromRow, type Approval, type ApprovalStatus } from './approval';

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired'] as const satisfies readonly ApprovalStatus[];
export const APPROVAL_DECISIONS = ['approve', 'reject'] as const;
export type ApprovalDecision = (typeof APPROVAL_DECISIONS)[number];

export type ApprovalFilter = PageArgs & { status?: ApprovalStatus | null };
/** `input` replaces the model's arguments (approve only); `note` is the decider's reason. */
export type DecideOptions = { input?: unknown; note?: unknown };

const MAX_INPUT_BYTES = 256 * 1024;
const MAX_NOTE_CHARS = 2000;
/** Who expiry is, in decided_by, events and the audit log. */
const EXPIRY_DECIDER = 'system:expiry';

type Checked = { decision: ApprovalDecision; input: Record<string, unknown> | null; note: string | null };

function checkDecision(decision: unknown, options: DecideOptions): Checked {
  if (!(APPROVAL_DECISIONS as readonly unknown[]).includes(decision)) {
    throw new InputError(`decision must be one of ${APPROVAL_DECISIONS.join(', ')}`, 'decision');
  }
  const unknown = Object.keys(options).filter((k) => k !== 'input' && k !== 'note');
  if (unknown.length > 0) throw new InputError(`Unknown field: ${unknown.join(', ')}`, unknown[0]);
  const input = options.input ?? null;
  if (input !== null) {
    if (decision !== 'approve') throw new InputError('input can only be given when approving', 'input');
    if (typeof input !== 'object' || Array.isArray(input)) throw new InputError('input must be a JSON object', 'input');
    if (Buffer.byteLength(JSON.stringify(input)) > MAX_INPUT_BYTES) {
      throw new InputError(`input must be at most ${MAX_INPUT_BYTES} bytes of JSON`, 'input');
    }
  }
  const note = options.note ?? null;
  // Counted in code points, as the table's length() check counts them.
  if (note !== null && (typeof note !== 'string' || [...note].length > MAX_NOTE_CHARS)) {
    throw new InputError(`note must be a string of at most ${MAX_NOTE_CHARS} characters`, 'note');
  }
  return { decision: decision as ApprovalDecision, input: input as Record<string, unknown> | null, note };
}

/** How a pending approval is settled: by a person's decision or by its deadline. */
type Settlement = {
  status: Exclude<ApprovalStatus, 'pending'>;
  decidedInput: Record<string, unknown> | null;
  note: string | null;
  /** Expiry settles only approvals past their deadline; a person only those before it. */
  lapsed: boolean;
  event: 'approval_decided' | 'approval_expired';
  eventDetail: Record<string, unknown>;
  auditAction: string;
};

type Settled = { settled: true; approval: Approval } | { settled: false; status: ApprovalStatus };

/**
 * Approvals (issue 6): the tool calls approval_gate rules paused. Workers create them
 * (requestApprovalIn, in the transaction that moves the run to `waiting`); this service lists
 * them and settles them, which puts the waiting run back in the queue for any worker to resume.
 */
export class ApprovalService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; onPublishError: (err: unknown) => void }) {}

  /** Newest first. */
  async list(tenantId: string, filter: ApprovalFilter): Promise<Page<Approval>> {
    const size = pageSize(filter.first);
    if (filter.status && !(APPROVAL_STATUSES as readonly string[]).includes(filter.status)) {
      throw new InputError(`status must be one of ${APPROVAL_STATUSES.join(', ')}`, 'status');
    }
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.status) {
      conditions.push('status = ?');
      params.push(filter.status);
    }
    const after = afterCondition(filter.after);
    if (after) {
      conditions.push(after.sql);
      params.push(...after.params);
    }
    const where = conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '';
    const rows = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(`select * from approvals${where} order by created_at desc, id desc limit ?`, [...params, size + 1]),
    );
    return toPage(rows.map(approvalFromRow), size);
  }

  async find(tenantId: string, id: string): Promise<Approval | null> {
    if (!isUuid(id)) return null;
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(`select * from approvals where id = ?`, [id]),
    );
    return row ? approvalFromRow(row) : null;
  }

  async get(tenantId: string, id: string): Promise<Approval> {
    const approval = await this.find(tenantId, id);
    if (!approval) throw new NotFoundError('Approval');
    return approval;
  }

  /**
   * A person's decision on a pending approval; the run goes back to the queue. Once decided
   * (or past its deadline) an approval takes no other decision: ConflictError.
   */
  async decide(actor: Actor, id: string, decision: ApprovalDecision, options: DecideOptions = {}): Promise<Approval> {
    const checked = checkDecision(decision, options);
    const outcome = await this.settle(actor, id, {
      status: checked.decision === 'approve' ? 'approved' : 'rejected',
      decidedInput: checked.input,
      note: checked.note,
      lapsed: false,
      event: 'approval_decided',
      eventDetail: { decision: checked.decision },
      auditAction: 'approval.decide',
    });
    if (outcome.settled) return outcome.approval;
    // Still pending, so past its deadline: the expirer has not reached it yet.
    if (outcome.status === 'pending') throw new ConflictError('The approval has expired.');
    throw new ConflictError(`The approval is already ${outcome.status}.`);
  }

  /** Settles an approval past its deadline as expired; null when it was decided or is not due. */
  async expire(tenantId: string, id: string): Promise<Approval | null> {
    const system: Actor = { tenantId, name: EXPIRY_DECIDER, scopes: new Set() };
    const outcome = await this.settle(system, id, {
      status: 'expired',
      decidedInput: null,
      note: null,
      lapsed: true,
      event: 'approval_expired',
      eventDetail: {},
      auditAction: 'approval.expire',
    });
    return outcome.settled ? outcome.approval : null;
  }

  /**
   * One transaction: the approval (compare-and-set on 'pending'), the run back from 'waiting' to
   * the queue with a NOTIFY, the run's event and the audit row. A run that is no longer waiting
   * (cancelled meanwhile) keeps its status; the decision and the event still land.
   */
  private async settle(actor: Actor, id: string, s: Settlement): Promise<Settled> {
    if (!isUuid(id)) throw new NotFoundError('Approval');
    const outcome = await inTenantSql(this.deps.orm, actor.tenantId, async (sql) => {
      // The run row first: a worker's journal locks it before it writes the approval, and the
      // same order on both sides means no deadlock.
      const [run] = await sql.execute<{ status: string }[]>(
        `select r.status from approvals a join agent_runs r on r.id = a.run_id where a.id = ? for update of r`,
        [id],
      );
      if (!run) throw new NotFoundError('Approval');
      const [row] = await sql.execute<Record<string, any>[]>(
        `update approvals
            set status = ?, decided_input = ?::jsonb, decision_note = ?, decided_by_account_id = ?, decided_by = ?, decided_at = now()
          where id = ? and status = 'pending' and coalesce(expires_at <= now(), false) = ?
          returning *`,
        [s.status, s.decidedInput === null ? null : JSON.stringify(s.decidedInput), s.note, actor.accountId ?? null, actor.name, id, s.lapsed],
      );
      if (!row) {
        const [current] = await sql.execute<{ status: ApprovalStatus }[]>(`select status from approvals where id = ?`, [id]);
        return { settled: false as const, status: current!.status };
      }
      const approval = approvalFromRow(row);
      let runStatus = run.status;
      if (runStatus === 'waiting') {
        // Time spent waiting for a person is not the run's: its deadline moves by that much.
        await sql.execute(
          `update agent_runs set status = 'queued', run_at = now(), deadline_at = deadline_at + (now() - ?::timestamptz), updated_at = now() where id = ?`,
          [approval.createdAt, approval.runId],
        );
        await sql.execute('select pg_notify(?, ?)', [RUN_QUEUE_CHANNEL, approval.runId]);
        runStatus = 'queued';
      }
      const eventSeq = await appendEvent(sql, actor.tenantId, approval.runId, s.event, {
        approvalId: approval.id,
        ...s.eventDetail,
        decidedBy: actor.name,
      });
      await recordAuditSql(sql, actor, {
        action: s.auditAction,
        targetType: 'approval',
        targetId: approval.id,
        // Never the arguments or the note: only what was decided about which call.
        detail: { runId: approval.runId, tool: approval.tool, status: approval.status, editedInput: s.decidedInput !== null },
      });
      return { settled: true as const, approval, changed: { runId: approval.runId, status: runStatus, eventSeq } satisfies RunChanged };
    });
    if (!outcome.settled) return outcome;
    this.deps.bus.publish(runChannel(outcome.changed.runId), outcome.changed).catch(this.deps.onPublishError);
    return { settled: true, approval: outcome.approval };
  }
}
