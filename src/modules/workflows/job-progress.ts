import type { Orm } from '../../db/orm';
import { inTenantSql, type SqlRunner } from '../../db/tenant-transaction';
import { NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import type { Bus } from '../../platform/bus';
import type { LogStream } from '../logs/log-lines';
import type { PublishedLogLine } from '../runs/run-channels';
import { evaluateWhen, templateContext, TemplateError } from './definition/templates';
import { jobFromRow, SERVER_STEP, stepFromRow, stepState, type Job, type JobStep } from './job';
import { jobChannel, type JobChanged } from './job-channels';
import { jobOutcome, promote, TERMINAL_JOB, type StepStatus } from './orchestrator';

/** Bus messages carry a transaction's log lines up to this size; past it, subscribers read them. */
const MAX_PUBLISHED_LINES_BYTES = 64 * 1024;

export type JobLogInput = { step: string; stream: LogStream; line: string; ts?: Date };

export type StepChange = {
  status?: StepStatus;
  output?: unknown;
  error?: string | null;
  workerId?: string | null;
  runId?: string | null;
  /** Rendered at claim time. */
  input?: Record<string, unknown>;
  actionSpec?: unknown;
  startedNow?: boolean;
  completedNow?: boolean;
};

const STEP_COLUMNS: Record<string, string> = {
  status: 'status',
  output: 'output',
  error: 'error_message',
  workerId: 'worker_id',
  runId: 'run_id',
  input: 'input',
  actionSpec: 'action_spec',
};
const JSON_COLUMNS = new Set(['output', 'input', 'actionSpec']);

/**
 * One job, locked, inside its tenant's transaction: every change to a job's steps goes through
 * here, so promotion, the job's end and log sequence numbers are decided under the job row's
 * lock, one change after the other.
 */
export class JobTransaction {
  private readonly lines: PublishedLogLine[] = [];
  private stepsCache: JobStep[] | null = null;

  constructor(
    readonly sql: SqlRunner,
    public job: Job,
  ) {}

  async steps(): Promise<JobStep[]> {
    this.stepsCache ??= (
      await this.sql.execute<Record<string, any>[]>(`select * from job_steps where job_id = ? order by position`, [this.job.id])
    ).map(stepFromRow);
    return this.stepsCache;
  }

  async step(name: string): Promise<JobStep | null> {
    return (await this.steps()).find((s) => s.name === name) ?? null;
  }

  /** Updates one step row (and the cached copy). */
  async setStep(name: string, change: StepChange): Promise<void> {
    const sets: string[] = [];
    const params: unknown[] = [];
    for (const [key, column] of Object.entries(STEP_COLUMNS)) {
      const value = change[key as keyof StepChange];
      if (value === undefined) continue;
      sets.push(JSON_COLUMNS.has(key) ? `${column} = ?::jsonb` : `${column} = ?`);
      params.push(JSON_COLUMNS.has(key) ? (value === null ? null : JSON.stringify(value)) : value);
    }
    if (change.status === 'ready') sets.push('ready_at = now()');
    if (change.startedNow) sets.push('started_at = coalesce(started_at, now())');
    if (change.completedNow) sets.push('completed_at = now()');
    if (sets.length === 0) return;
    await this.sql.execute(`update job_steps set ${sets.join(', ')} where job_id = ? and step_name = ?`, [...params, this.job.id, name]);
    const cached = this.stepsCache?.find((s) => s.name === name);
    if (cached) {
      if (change.status) cached.status = change.status;
      if (change.output !== undefined) cached.output = change.output;
      if (change.error !== undefined) cached.errorMessage = change.error;
      if (change.workerId !== undefined) cached.workerId = change.workerId;
      if (change.runId !== undefined) cached.runId = change.runId;
    }
  }

  /** The server fails a step (it cannot run, or ran out of time): why goes on the step and in the log, and the job moves on. */
  async failStep(name: string, message: string): Promise<void> {
    await this.setStep(name, { status: 'failed', error: message, completedNow: true });
    await this.log([{ step: SERVER_STEP, stream: 'stderr', line: `step ${name} failed: ${message}` }]);
    await this.advance();
  }

  /** Updates the job row. */
  async setJob(change: { status?: Job['status']; output?: unknown; error?: string | null; workerId?: string | null; startedNow?: boolean; completedNow?: boolean }): Promise<void> {
    const sets = ['updated_at = now()'];
    const params: unknown[] = [];
    if (change.status) (sets.push('status = ?'), params.push(change.status));
    if (change.output !== undefined) (sets.push('output = ?::jsonb'), params.push(change.output === null ? null : JSON.stringify(change.output)));
    if (change.error !== undefined) (sets.push('error_message = ?'), params.push(change.error));
    if (change.workerId !== undefined) (sets.push('worker_id = ?'), params.push(change.workerId));
    if (change.startedNow) sets.push('started_at = coalesce(started_at, now())');
    if (change.completedNow) sets.push('completed_at = now()');
    const [row] = await this.sql.execute<Record<string, any>[]>(`update jobs set ${sets.join(', ')} where id = ? returning *`, [...params, this.job.id]);
    this.job = jobFromRow(row!);
  }

  /** Appends lines to the job's log with gap-free sequence numbers (the job row is locked). */
  async log(lines: JobLogInput[]): Promise<void> {
    if (lines.length === 0) return;
    const [row] = await this.sql.execute<{ log_seq: string; now: string }[]>(
      `update jobs set log_seq = log_seq + ? where id = ? returning log_seq, now()`,
      [lines.length, this.job.id],
    );
    const last = Number(row!.log_seq);
    const first = last - lines.length + 1;
    const now = new Date(row!.now);
    const rows = lines.map((l, i) => ({ seq: first + i, ts: (l.ts ?? now).toISOString(), step: l.step, stream: l.stream, line: l.line }));
    await this.sql.execute(
      `insert into log_lines (tenant_id, source, source_id, seq, ts, step, stream, line)
       select ?, 'job', ?, x.seq, x.ts, x.step, x.stream, x.line
         from jsonb_to_recordset(?::jsonb) as x(seq bigint, ts timestamptz, step text, stream text, line text)`,
      [this.job.tenantId, this.job.id, JSON.stringify(rows)],
    );
    this.lines.push(...rows);
  }

  /**
   * Promotes, skips and fails pending steps after a change, and ends the job once every step is
   * terminal (a cancelled job stays cancelled). Distributed jobs only: a local job's worker walks
   * its DAG itself.
   */
  async advance(): Promise<void> {
    if (TERMINAL_JOB.has(this.job.status)) return;
    const steps = await this.steps();
    if (this.job.mode === 'distributed') {
      const input = this.job.input;
      const transitions = promote(steps.map(stepState), (condition, outputs) => {
        try {
          return evaluateWhen(condition, templateContext(input, outputs));
        } catch (err) {
          if (err instanceof TemplateError) return { error: err.message };
          throw err;
        }
      });
      for (const t of transitions) {
        await this.setStep(t.name, { status: t.status, ...(t.error ? { error: t.error, completedNow: true } : {}), ...(t.status === 'skipped' ? { completedNow: true } : {}) });
        if (t.error) await this.log([{ step: SERVER_STEP, stream: 'stderr', line: `step ${t.name} failed: ${t.error}` }]);
      }
      if (transitions.some((t) => t.status === 'failed')) return this.advance();
    }
    const outcome = jobOutcome(steps.map(stepState));
    if (!outcome) return;
    await this.setJob({ status: outcome.status, output: outcome.output, error: outcome.error, completedNow: true });
  }

  /** What subscribers are told after the commit. */
  announcement(): JobChanged {
    const message: JobChanged = { jobId: this.job.id, status: this.job.status };
    if (this.lines.length) {
      message.logSeq = this.lines.at(-1)!.seq;
      if (Buffer.byteLength(JSON.stringify(this.lines)) <= MAX_PUBLISHED_LINES_BYTES) message.lines = this.lines;
    }
    return message;
  }
}

/**
 * Runs `work` on one job under its row lock, in the tenant's transaction; announces the change
 * on the job's channel after the commit. (REST workers poll for work, and the agent-step bridge
 * ticks, so nothing needs a NOTIFY.)
 */
export async function withJob<T>(
  deps: { orm: Orm; bus: Bus; onPublishError: (err: unknown) => void },
  tenantId: string,
  jobId: string,
  work: (tx: JobTransaction) => Promise<T>,
): Promise<T> {
  if (!isUuid(jobId)) throw new NotFoundError('Job');
  let tx: JobTransaction | null = null;
  const result = await inTenantSql(deps.orm, tenantId, async (sql) => {
    tx = await lockJob(sql, jobId);
    return work(tx);
  });
  announce(deps, tx!);
  return result;
}

/** Locks one job inside the caller's tenant transaction: the start of every JobTransaction. */
export async function lockJob(sql: SqlRunner, jobId: string): Promise<JobTransaction> {
  const [row] = await sql.execute<Record<string, any>[]>(`select * from jobs where id = ? for update`, [jobId]);
  if (!row) throw new NotFoundError('Job');
  return new JobTransaction(sql, jobFromRow(row));
}

export function announce(deps: { bus: Bus; onPublishError: (err: unknown) => void }, tx: JobTransaction): void {
  deps.bus.publish(jobChannel(tx.job.id), tx.announcement()).catch(deps.onPublishError);
}
