import type { Orm } from '../../db/orm';
import { inTenantSql, inTenantStatement, readInTenant, type ReadResults, type SqlRunner, type TenantRead } from '../../db/tenant-transaction';
import type { Bus } from '../../platform/bus';
import { LeaseLostError, type Lease } from '../../platform/lease-queue';
import { recordAuditSql } from '../audit/audit.service';
import { requestApprovalIn, type Approval, type ApprovalRequest } from '../approvals/approval';
import type { FailureCategory } from './agent-run.entity';
import type { TokenCounts } from './prices';
import { appendEvent, stepsRead, type RecordedStep } from './run.service';
import { RUN_QUEUE_CHANNEL, runChannel, type PublishedLogLine, type RunChanged } from './run-channels';

/** The journal's name among the reads a run starts with (not a name a caller would choose). */
const JOURNAL_READ = 'journal:steps';
/** Bus messages carry a transaction's log lines up to this size; past it, subscribers read them. */
const MAX_PUBLISHED_LINES_BYTES = 64 * 1024;
/** Step payloads above this size live in agent_step_payloads, keeping step rows small. */
export const SPILL_BYTES = 8 * 1024;
/** Failed runs of one (tenant, blueprint) within the window that open the circuit breaker. */
export const BREAKER_FAILURES = 10;
const BREAKER_WINDOW = '48 hours';

export type StepRecord = {
  seq: number;
  kind: 'llm' | 'tool';
  name: string;
  contentHash: string;
  input: unknown;
  output: unknown;
  isError: boolean;
  model: string | null;
  tokens: TokenCounts;
  costUsdCents: number;
  startedAt: Date;
};

export type { RecordedStep };

/** The SET clause adding a step's tokens and cost to its run (nothing for no step). */
function totalsOf(step: StepRecord | null): { set: string; params: number[] } {
  const t = step?.tokens;
  return {
    set: `cost_usd_cents = cost_usd_cents + ?, input_tokens = input_tokens + ?, output_tokens = output_tokens + ?,
          cache_read_tokens = cache_read_tokens + ?, cache_write_tokens = cache_write_tokens + ?`,
    params: [step?.costUsdCents ?? 0, t?.input ?? 0, t?.output ?? 0, t?.cacheRead ?? 0, (t?.cacheWrite5m ?? 0) + (t?.cacheWrite1h ?? 0)],
  };
}

/** What the worker needs of the run it leased. */
export type LeasedRun = {
  id: string;
  tenantId: string;
  configId: string;
  agentBlueprint: string;
  input: unknown;
  budgetUsdCents: number | null;
  deadlineAt: Date;
  attempts: number;
};
export type LogLineInput = { stream: 'llm' | 'tool' | 'system' | 'stdout' | 'stderr'; step: string; line: string };

/** What one journal write changes: the run row (`set`), and the log lines, event and step it adds. */
/** The run row as a journal write returns it (plus the columns it asked for). */
type WrittenRow<R = Record<string, unknown>> = R & { log_seq: string; event_seq: string; written_at: string };

type JournalWrite = {
  set?: string;
  params?: unknown[];
  /** More columns of the run row to return. */
  returning?: string;
  lines?: LogLineInput[];
  event?: JournalEvent;
  step?: StepRecord;
};

export type JournalEvent = { type: string; detail: Record<string, unknown> };

/** A step's column values (seq … started_at) and the payloads that spill to agent_step_payloads. */
function stepValues(step: StepRecord): { row: unknown[]; spilled: ['input' | 'output', string][] } {
  const t = step.tokens;
  const input = JSON.stringify(step.input ?? null);
  const output = JSON.stringify(step.output ?? null);
  const spilled: ['input' | 'output', string][] = [];
  if (Buffer.byteLength(input) > SPILL_BYTES) spilled.push(['input', input]);
  if (Buffer.byteLength(output) > SPILL_BYTES) spilled.push(['output', output]);
  const spills = (part: 'input' | 'output') => spilled.some(([p]) => p === part);
  return {
    row: [
      step.seq,
      step.kind,
      step.name,
      step.contentHash,
      spills('input') ? null : input,
      spills('output') ? null : output,
      step.isError,
      step.model,
      t.input,
      t.output,
      t.cacheRead,
      t.cacheWrite5m + t.cacheWrite1h,
      step.costUsdCents,
      step.startedAt,
    ],
    spilled,
  };
}

/**
 * Every write a worker makes to the run it leases. Each one is fenced by the lease token (first
 * statement of its transaction), so a worker whose lease was swept or whose run was cancelled
 * writes nothing and learns it through LeaseLostError. Changes are announced on the bus after
 * they commit.
 */
export class RunJournal {
  private logSeq = 0;
  private eventSeq = 0;
  /** Lines written by the transaction in progress, announced after it commits. */
  private written: PublishedLogLine[] = [];

  constructor(
    private readonly deps: { orm: Orm; bus: Bus; onPublishError: (err: unknown) => void },
    readonly lease: Lease,
  ) {}

  /**
   * Loads the journal to replay (with whatever else the run needs to start), then marks the run
   * started (the deadline runs from the first start) and records who started or resumed it.
   */
  async begin<R extends Record<string, TenantRead<unknown>>>(
    worker: string,
    /** What else the run needs to start (config, key, tools), read with its journal. */
    reads: R,
  ): Promise<{ run: LeasedRun; steps: RecordedStep[]; read: ReadResults<R> }> {
    // Two round trips: the journal and the rest in one snapshot, then the fenced write. Without
    // the lease that write matches nothing (LeaseLostError), and the reads were only reads.
    const read: Record<string, unknown> = await readInTenant(this.deps.orm, this.lease.tenantId, { ...reads, [JOURNAL_READ]: stepsRead(this.lease.id) });
    const steps = read[JOURNAL_READ] as RecordedStep[];
    delete read[JOURNAL_READ];
    const row = await this.writeAlone<Record<string, any>>({
      set: `started_at = coalesce(started_at, now()),
            deadline_at = coalesce(deadline_at, now() + make_interval(secs => deadline_seconds))`,
      returning: 'id, tenant_id, config_id, agent_blueprint, input, budget_usd_cents, deadline_at',
      event: { type: steps.length ? 'resumed' : 'started', detail: { worker, replaying: steps.length } },
      lines: [{ stream: 'system', step: 'run', line: `claimed by ${worker}${steps.length ? `, replaying ${steps.length} steps` : ''}` }],
    });
    const run: LeasedRun = {
      id: row.id,
      tenantId: row.tenant_id,
      configId: row.config_id,
      agentBlueprint: row.agent_blueprint,
      input: row.input,
      budgetUsdCents: row.budget_usd_cents === null ? null : Number(row.budget_usd_cents),
      deadlineAt: new Date(row.deadline_at),
      attempts: row.attempts,
    };
    return { run, steps, read: read as ReadResults<R> };
  }

  /**
   * Journals a finished step, with its log lines (and the event that allowed it, if any), and adds
   * its tokens and cost to the run, atomically.
   */
  async recordStep(step: StepRecord, lines: LogLineInput[] = [], event?: JournalEvent): Promise<void> {
    const totals = totalsOf(step);
    await this.writeAlone({ set: totals.set, params: totals.params, lines, step, event });
  }

  /**
   * Pauses the run at an approval gate, in one transaction: the decision event, the approval
   * (one per call: a replay reaching the same call finds it), and the run to 'waiting' without
   * its lease. A decision on the approval puts the run back in the queue.
   */
  async awaitApproval(decision: JournalEvent, request: ApprovalRequest, lines: LogLineInput[] = []): Promise<Approval> {
    return this.fenced(async (em) => {
      await this.write(em, {
        set: `status = 'waiting', lease_token = null, lease_owner = null, lease_expires_at = null`,
        lines,
        event: decision,
      });
      const { approval } = await requestApprovalIn(em, this.lease.tenantId, request);
      await this.appendEvent(em, 'approval_requested', { approvalId: approval.id, seq: request.stepSeq, tool: request.tool });
      return approval;
    }, 'waiting');
  }

  /**
   * Waits, without its lease, for a workflow job the run started (a workspace action called as a
   * tool); the job's end puts the run back in the queue, and the replay reads the job's result.
   */
  async awaitJob(event: JournalEvent, lines: LogLineInput[] = []): Promise<void> {
    await this.writeAlone({ set: `status = 'waiting', lease_token = null, lease_owner = null, lease_expires_at = null`, lines, event }, 'waiting');
  }

  async event(type: string, detail: Record<string, unknown> = {}): Promise<void> {
    await this.writeAlone({ event: { type, detail } });
  }

  /** Appends log lines with gap-free sequence numbers allocated under the run row's lock. */
  async log(lines: LogLineInput[]): Promise<void> {
    if (lines.length === 0) return;
    await this.writeAlone({ lines });
  }

  /** Ends the run succeeded, journaling its last step (when given) and log lines in the same statement. */
  async succeed(output: unknown, lines: LogLineInput[] = [], finalStep: StepRecord | null = null): Promise<void> {
    const totals = totalsOf(finalStep);
    await this.writeAlone(
      {
        set: `status = 'succeeded', output = ?::jsonb, consecutive_failures = 0, ${totals.set},
              lease_token = null, lease_owner = null, lease_expires_at = null, completed_at = now()`,
        params: [JSON.stringify(output ?? null), ...totals.params],
        lines,
        step: finalStep ?? undefined,
        event: { type: 'succeeded', detail: {} },
      },
      'succeeded',
    );
  }

  /**
   * Fails the run, counts the (tenant, blueprint)'s consecutive failures, and opens the circuit
   * breaker (disables the config, with an event and an audit row) at 10 failures in 48 hours.
   */
  async fail(category: FailureCategory, detail: string, lines: LogLineInput[] = []): Promise<{ breakerOpened: boolean }> {
    return this.fenced(async (em) => {
      await this.write(em, { lines });
      // Runs of one config fail concurrently: its row lock makes each count below see the
      // failures committed before it, so the tenth failure always opens the breaker.
      await em.execute(
        `select c.id from agent_configs c join agent_runs r on r.config_id = c.id where r.id = ? for update of c`,
        [this.lease.id],
      );
      const [run] = await em.execute<{ agent_blueprint: string; config_id: string }[]>(
        `update agent_runs r
            set status = 'failed', failure_category = ?, failure_detail = ?,
                consecutive_failures = 1 + (
                  select count(*) from agent_runs f
                   where f.agent_blueprint = r.agent_blueprint and f.status = 'failed'
                     and f.completed_at > coalesce((select max(s.completed_at) from agent_runs s
                                                     where s.agent_blueprint = r.agent_blueprint and s.status = 'succeeded'), '-infinity')),
                lease_token = null, lease_owner = null, lease_expires_at = null, completed_at = now(), updated_at = now()
          where id = ?
         returning agent_blueprint, config_id`,
        [category, detail.slice(0, 2000), this.lease.id],
      );
      await this.appendEvent(em, 'failed', { category, detail: detail.slice(0, 500) });
      const [{ failures }] = (await em.execute<{ failures: string }[]>(
        `select count(*) as failures from agent_runs
          where agent_blueprint = ? and status = 'failed' and completed_at > now() - interval '${BREAKER_WINDOW}'`,
        [run!.agent_blueprint],
      )) as [{ failures: string }];
      if (Number(failures) < BREAKER_FAILURES) return { breakerOpened: false };
      const reason = `Circuit breaker: ${failures} failed runs in ${BREAKER_WINDOW}`;
      const opened = await em.execute<{ id: string }[]>(
        `update agent_configs set disabled_at = now(), disable_reason = ?, updated_at = now()
          where id = ? and disabled_at is null returning id`,
        [reason, run!.config_id],
      );
      if (opened.length === 0) return { breakerOpened: false };
      await this.appendEvent(em, 'circuit_opened', { blueprint: run!.agent_blueprint, failures: Number(failures) });
      await recordAuditSql(em, { tenantId: this.lease.tenantId, name: 'system:circuit-breaker', scopes: new Set() }, {
        action: 'agent_config.disable',
        targetType: 'agent_config',
        targetId: run!.agent_blueprint,
        detail: { reason, failures: Number(failures) },
      });
      return { breakerOpened: true };
    }, 'failed');
  }

  /**
   * Gives the run back to the queue (worker shutting down, or an unexpected error worth another
   * attempt): another worker claims it after `delayMs` and replays the journal.
   */
  async release(reason: string, delayMs = 0, options: { extendDeadline?: boolean } = {}): Promise<void> {
    await this.fenced(async (em) => {
      await this.write(em, {
        // A deferral (quiet hours) is not the run's own slowness: its deadline moves with it.
        set: `status = 'queued', lease_token = null, lease_owner = null, lease_expires_at = null,
              run_at = now() + make_interval(secs => ?::double precision),
              deadline_at = deadline_at + make_interval(secs => ?::double precision)`,
        params: [delayMs / 1000, options.extendDeadline ? delayMs / 1000 : 0],
        event: { type: 'released', detail: { reason, ...(delayMs ? { delayMs } : {}) } },
      });
      await em.execute('select pg_notify(?, ?)', [RUN_QUEUE_CHANNEL, this.lease.id]);
    }, 'queued');
  }

  /**
   * One journal write as one statement: the fenced update of the run row (it matches only while
   * this lease holds the run, and locks the row, so the numbers it allocates for log lines and
   * the event are gap-free and ordered), and the inserts of those lines, that event and that step
   * reading the numbers from it. No row means the lease is gone: LeaseLostError, and the
   * transaction rolls back. The statement's text depends only on which parts are present, so
   * each shape is prepared once per connection.
   */
  private async write<R = Record<string, unknown>>(em: SqlRunner, w: JournalWrite, statement = this.statementOf(w)): Promise<R> {
    const [row] = await em.execute<WrittenRow<R>[]>(statement.sql, statement.params);
    this.took(w, row);
    // Payloads too big for the step row; rare, so a statement of their own.
    for (const [part, body] of statement.spilled) {
      await em.execute(`insert into agent_step_payloads (tenant_id, run_id, seq, part, body) values (?, ?, ?, ?, ?::jsonb)`, [
        this.lease.tenantId,
        this.lease.id,
        w.step!.seq,
        part,
        body,
      ]);
    }
    return row!;
  }

  /**
   * A journal write that is its own transaction: when it is one statement (no spilled payload),
   * it goes out with its tenant pin in one round trip; the run's log lines take this path.
   */
  private async writeAlone<R = Record<string, unknown>>(w: JournalWrite, status: RunChanged['status'] = 'running'): Promise<WrittenRow<R>> {
    const statement = this.statementOf(w);
    if (statement.spilled.length) return this.fenced((em) => this.write<WrittenRow<R>>(em, w, statement), status);
    return this.announced(async () => {
      const [row] = await inTenantStatement<WrittenRow<R>>(this.deps.orm, this.lease.tenantId, statement.sql, statement.params);
      this.took(w, row);
      return row!;
    }, status);
  }

  /** The statement of one journal write (see `write`), and the step payloads that spill. */
  private statementOf(w: JournalWrite): { sql: string; params: unknown[]; spilled: ['input' | 'output', string][] } {
    const lines = w.lines ?? [];
    const step = w.step ? stepValues(w.step) : null;
    const parts = [
      `run as (update agent_runs set ${w.set ? `${w.set}, ` : ''}log_seq = log_seq + ?, event_seq = event_seq + ?, updated_at = now()
                where id = ? and lease_token = ? and status = 'running'
               returning log_seq, event_seq, attempts, now() as written_at${w.returning ? `, ${w.returning}` : ''})`,
    ];
    const params: unknown[] = [...(w.params ?? []), lines.length, w.event ? 1 : 0, this.lease.id, this.lease.token];
    if (lines.length) {
      parts.push(`lines as (insert into log_lines (tenant_id, source, source_id, seq, step, stream, line)
        select ?, 'run', ?, run.log_seq - ? + x.ord, x.step, x.stream, x.line
          from run, rows from (jsonb_to_recordset(?::jsonb) as (step text, stream text, line text)) with ordinality as x(step, stream, line, ord))`);
      params.push(this.lease.tenantId, this.lease.id, lines.length, JSON.stringify(lines.map(({ step, stream, line }) => ({ step, stream, line }))));
    }
    if (w.event) {
      // Every event the worker writes says which attempt wrote it.
      parts.push(`event as (insert into agent_events (tenant_id, run_id, seq, type, detail)
        select ?, ?, run.event_seq, ?, ?::jsonb || jsonb_build_object('attempt', run.attempts) from run)`);
      params.push(this.lease.tenantId, this.lease.id, w.event.type, JSON.stringify(w.event.detail));
    }
    if (step) {
      parts.push(`step as (insert into agent_steps (tenant_id, run_id, seq, kind, name, content_hash, input, output, is_error, model,
                                                  input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_usd_cents, started_at)
        select ?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?, ?, ?, ? from run)`);
      params.push(this.lease.tenantId, this.lease.id, ...step.row);
    }
    return { sql: `with ${parts.join(',\n')} select * from run`, params, spilled: step?.spilled ?? [] };
  }

  /** What a written row tells the journal: no row means the lease is gone; otherwise the numbers it allocated. */
  private took(w: JournalWrite, row: WrittenRow | undefined): void {
    if (!row) throw new LeaseLostError(this.lease);
    const lines = w.lines ?? [];
    if (lines.length) {
      this.logSeq = Math.max(this.logSeq, Number(row.log_seq));
      const first = Number(row.log_seq) - lines.length + 1;
      const ts = new Date(row.written_at).toISOString();
      this.written.push(...lines.map(({ step, stream, line }, i) => ({ seq: first + i, ts, step, stream, line })));
    }
    if (w.event) this.eventSeq = Math.max(this.eventSeq, Number(row.event_seq));
  }

  /**
   * Runs `work` (whose first statement is updateRun, the fence) in the run's tenant; announces the
   * change on the run's channel after the commit.
   */
  private fenced<T>(work: (sql: SqlRunner) => Promise<T>, status: RunChanged['status'] = 'running'): Promise<T> {
    return this.announced(() => inTenantSql(this.deps.orm, this.lease.tenantId, work), status);
  }

  /** Runs a transaction of this journal's and announces what it wrote on the run's channel once it has committed. */
  private async announced<T>(transaction: () => Promise<T>, status: RunChanged['status']): Promise<T> {
    this.written = [];
    let result: T;
    try {
      result = await transaction();
    } catch (err) {
      // Lines of a rolled-back transaction were never written.
      this.written = [];
      throw err;
    }
    const lines = this.written;
    this.written = [];
    // The sequence numbers this journal wrote last: a subscriber reads up to them. The lines ride
    // along when they are small, so live subscribers need not read them back from PostgreSQL.
    const message: RunChanged = { runId: this.lease.id, status, logSeq: this.logSeq, eventSeq: this.eventSeq };
    if (lines.length && Buffer.byteLength(JSON.stringify(lines)) <= MAX_PUBLISHED_LINES_BYTES) message.lines = lines;
    this.deps.bus.publish(runChannel(this.lease.id), message).catch(this.deps.onPublishError);
    return result;
  }

  /** An event after the fenced write of the same transaction (the run row is already locked). */
  private async appendEvent(em: SqlRunner, type: string, detail: Record<string, unknown>): Promise<void> {
    this.eventSeq = Math.max(this.eventSeq, await appendEvent(em, this.lease.tenantId, this.lease.id, type, detail));
  }

}
