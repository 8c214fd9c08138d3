import type { Orm } from '../../db/orm';
import { inTenantSql, type SqlRunner } from '../../db/tenant-transaction';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import type { Bus } from '../../platform/bus';
import { checkTags, checkWorkerId, touchWorker } from '../workers/worker-registry';
import { renderValue, templateContext, TemplateError } from './definition/templates';
import type { ActionDef } from './definition/types';
import { jobFromRow, SERVER_STEP, stepFromRow, stepState, type Job, type JobStep } from './job';
import { jobChannel, type JobChanged } from './job-channels';
import { announce, lockJob, withJob, type JobLogInput } from './job-progress';
import { jobOutcome, TERMINAL_JOB, TERMINAL_STEP } from './orchestrator';
import { StepRenderError } from './workflow.errors';

/** One step handed to a worker, with its templates rendered. */
export type ClaimedStep = {
  kind: 'step';
  job: Pick<Job, 'id' | 'workspace' | 'revision' | 'taskName'>;
  step: Pick<JobStep, 'name' | 'actionName' | 'actionType' | 'actionImage' | 'runner' | 'timeoutSeconds'>;
  actionSpec: ActionDef;
  input: Record<string, unknown>;
};

/** A local-mode job handed whole to a worker: it walks the DAG and renders templates itself. */
export type ClaimedJob = { kind: 'job'; job: Job; steps: JobStep[] };

export type StepResult = { output?: unknown; exit_code?: unknown; error?: unknown };
export type LogBatch = { step_name?: unknown; lines?: unknown };

export const MAX_LOG_LINES_PER_CALL = 5_000;
const MAX_LINE_CHARS = 16 * 1024;
const STREAMS = new Set(['stdout', 'stderr']);

/** Everything of an action except its input and output schemas is rendered for the worker. */
function renderSpec(spec: ActionDef, context: ReturnType<typeof templateContext>): ActionDef {
  const { input, output, ...rest } = spec;
  return { ...(renderValue(rest, context) as Omit<ActionDef, 'input' | 'output'>), input, ...(output ? { output } : {}) };
}

function checkResult(body: StepResult): { failed: boolean; output: unknown; error: string | null } {
  const exitCode = body.exit_code ?? 0;
  if (!Number.isInteger(exitCode)) throw new InputError('exit_code must be an integer or null', 'exit_code');
  const error = body.error ?? null;
  if (error !== null && typeof error !== 'string') throw new InputError('error must be a string or null', 'error');
  const failed = exitCode !== 0 || error !== null;
  return { failed, output: body.output ?? null, error: failed ? (error ?? `Process exited with code ${exitCode}`) : null };
}

function checkLines(batch: LogBatch): { step: string; lines: JobLogInput[] } {
  const step = batch.step_name ?? '';
  if (typeof step !== 'string' || step.length > 128) throw new InputError('step_name must be a string', 'step_name');
  if (!Array.isArray(batch.lines)) throw new InputError('lines must be an array of {ts, stream, line}', 'lines');
  if (batch.lines.length > MAX_LOG_LINES_PER_CALL) throw new InputError(`at most ${MAX_LOG_LINES_PER_CALL} lines per call`, 'lines');
  const lines = batch.lines.map((l: unknown): JobLogInput => {
    const entry = (l ?? {}) as { ts?: unknown; stream?: unknown; line?: unknown };
    if (typeof entry.stream !== 'string' || !STREAMS.has(entry.stream)) throw new InputError('stream must be stdout or stderr', 'lines');
    if (typeof entry.line !== 'string') throw new InputError('line must be a string', 'lines');
    const ts = typeof entry.ts === 'string' ? new Date(entry.ts) : null;
    const line = entry.line.length > MAX_LINE_CHARS ? `${entry.line.slice(0, MAX_LINE_CHARS)}… [cut]` : entry.line;
    return { step, stream: entry.stream as 'stdout' | 'stderr', line, ...(ts && !Number.isNaN(ts.getTime()) ? { ts } : {}) };
  });
  return { step, lines };
}

/**
 * The server side of seed 001's worker protocol: claims by tags, step start and completion, log
 * batches, cancellation checks and local-mode job completion. A worker serves its own tenant:
 * every call runs under the token's tenant, so another tenant's jobs and workers do not exist.
 */
export class WorkerProtocolService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; onPublishError: (err: unknown) => void }) {}

  /**
   * The oldest ready step whose required tags the worker has (FOR UPDATE SKIP LOCKED, so
   * concurrent workers never take the same one), rendered; then a local-mode job the worker can
   * run whole. Null when there is nothing. A step that does not render fails (StepRenderError).
   */
  async claim(tenantId: string, body: { worker_id?: unknown; tags?: unknown }): Promise<ClaimedStep | ClaimedJob | null> {
    const workerId = checkWorkerId(body.worker_id);
    const given = body.tags === undefined || body.tags === null ? null : checkTags(body.tags);
    const outcome = await inTenantSql(this.deps.orm, tenantId, async (sql) => {
      const registered = await touchWorker(sql, workerId);
      const tags = given ?? registered;
      const [row] = await sql.execute<Record<string, any>[]>(
        `select s.*, j.workspace, j.revision, j.task_name, j.input as job_input,
                (select coalesce(jsonb_object_agg(d.step_name, d.output), '{}') from job_steps d
                  where d.job_id = s.job_id and d.status = 'completed') as outputs
           from job_steps s join jobs j on j.id = s.job_id
          where s.status = 'ready' and s.action_type <> 'agent' and s.required_tags <@ ?::text[]
          order by s.ready_at
          limit 1
          for update of s skip locked`,
        [tags],
      );
      if (row) {
        const step = stepFromRow(row);
        const context = templateContext(row.job_input ?? {}, row.outputs ?? {});
        let input: Record<string, unknown>;
        let actionSpec: ActionDef;
        try {
          input = renderValue(step.inputTemplate, context) as Record<string, unknown>;
          actionSpec = renderSpec(step.actionSpec, templateContext({ ...(row.job_input ?? {}), ...input }, row.outputs ?? {}));
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err;
          return { failed: await this.failRender(sql, step, err.message) };
        }
        await sql.execute(
          `update job_steps set status = 'running', worker_id = ?, started_at = now(), input = ?::jsonb, action_spec = ?::jsonb
            where job_id = ? and step_name = ?`,
          [workerId, JSON.stringify(input), JSON.stringify(actionSpec), step.jobId, step.name],
        );
        await sql.execute(`update jobs set status = 'running', started_at = coalesce(started_at, now()), updated_at = now() where id = ? and status = 'pending'`, [step.jobId]);
        const claimed: ClaimedStep = {
          kind: 'step',
          job: { id: step.jobId, workspace: row.workspace, revision: row.revision, taskName: row.task_name },
          step: { name: step.name, actionName: step.actionName, actionType: step.actionType, actionImage: step.actionImage, runner: step.runner, timeoutSeconds: step.timeoutSeconds },
          actionSpec,
          input,
        };
        return { claimed };
      }
      const [local] = await sql.execute<Record<string, any>[]>(
        `select * from jobs where mode = 'local' and status = 'pending' and worker_id is null and required_tags <@ ?::text[]
          order by created_at limit 1 for update skip locked`,
        [tags],
      );
      if (!local) return { claimed: null };
      const [updated] = await sql.execute<Record<string, any>[]>(
        `update jobs set worker_id = ?, status = 'running', started_at = now(), updated_at = now() where id = ? returning *`,
        [workerId, local.id],
      );
      const steps = await sql.execute<Record<string, any>[]>(`select * from job_steps where job_id = ? order by position`, [local.id]);
      const claimed: ClaimedJob = { kind: 'job', job: jobFromRow(updated!), steps: steps.map(stepFromRow) };
      return { claimed };
    });
    if ('failed' in outcome && outcome.failed) {
      announce(this.deps, outcome.failed.tx);
      throw new StepRenderError(outcome.failed.step, outcome.failed.reason);
    }
    if ('claimed' in outcome && outcome.claimed) {
      const jobId = outcome.claimed.job.id;
      const message: JobChanged = { jobId, status: 'running' };
      this.deps.bus.publish(jobChannel(jobId), message).catch(this.deps.onPublishError);
    }
    return 'claimed' in outcome ? (outcome.claimed ?? null) : null;
  }

  /** The step's templates failed at claim time: it fails (seed 001), the job moves on. */
  private async failRender(sql: SqlRunner, step: JobStep, reason: string) {
    const tx = await lockJob(sql, step.jobId);
    await tx.failStep(step.name, `Template rendering failed: ${reason}`);
    return { tx, step: step.name, reason };
  }

  /** Seed 001: marks the step running on this worker (claims already did; idempotent). */
  async startStep(tenantId: string, jobId: string, stepName: string, body: { worker_id?: unknown }): Promise<void> {
    const workerId = checkWorkerId(body.worker_id);
    await withJob(this.deps, tenantId, jobId, async (tx) => {
      await touchWorker(tx.sql, workerId);
      const step = await tx.step(stepName);
      if (!step) throw new ConflictError(`The job has no step ${stepName}.`);
      const local = tx.job.mode === 'local';
      if (local ? tx.job.workerId !== workerId : step.workerId !== workerId) throw new ConflictError('The step is not claimed by this worker.');
      if (step.status === 'running') return;
      if (!(local && (step.status === 'pending' || step.status === 'ready'))) throw new ConflictError(`The step is ${step.status}.`);
      await tx.setStep(stepName, { status: 'running', workerId, startedNow: true });
      if (tx.job.status === 'pending') await tx.setJob({ status: 'running', startedNow: true });
    });
  }

  /**
   * Seed 001: the step's result (`exit_code != 0` or an `error` fails it), then promotion of
   * what depends on it. A result for a step that already ended (cancelled, timed out, failed by
   * the sweeper) changes nothing: the server's decision stands.
   */
  async completeStep(tenantId: string, jobId: string, stepName: string, body: StepResult): Promise<void> {
    const result = checkResult(body);
    await withJob(this.deps, tenantId, jobId, async (tx) => {
      const step = await tx.step(stepName);
      if (!step) throw new ConflictError(`The job has no step ${stepName}.`);
      if (TERMINAL_STEP.has(step.status)) return;
      if (step.status !== 'running') {
        if (!(tx.job.mode === 'local' && tx.job.workerId)) throw new ConflictError(`The step is ${step.status}; start it first.`);
      }
      await tx.setStep(stepName, {
        status: result.failed ? 'failed' : 'completed',
        output: result.output,
        error: result.error,
        startedNow: true,
        completedNow: true,
      });
      if (result.failed) await tx.log([{ step: SERVER_STEP, stream: 'stderr', line: `step ${stepName} failed: ${result.error}` }]);
      await tx.advance();
    });
  }

  /** Seed 001: log lines of a step, appended to the job's log and published live. */
  async appendLogs(tenantId: string, jobId: string, batch: LogBatch): Promise<number> {
    const { lines } = checkLines(batch);
    // Through the job even with no lines: an unknown job is a 404 either way.
    await withJob(this.deps, tenantId, jobId, (tx) => tx.log(lines));
    return lines.length;
  }

  /** `GET /worker/jobs/{id}/cancelled`: workers poll it while a step runs. */
  async isCancelled(tenantId: string, jobId: string): Promise<boolean> {
    if (!isUuid(jobId)) throw new NotFoundError('Job');
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<{ status: string }[]>(`select status from jobs where id = ?`, [jobId]));
    if (!row) throw new NotFoundError('Job');
    return row.status === 'cancelled';
  }

  /**
   * Local mode: the worker that walked the DAG ends the job. Steps it never reported are skipped;
   * the job fails if a step failed without continue_on_failure, else completes with `output`
   * (or, when none is given, the outputs of the steps nobody depends on).
   */
  async completeJob(tenantId: string, jobId: string, body: { output?: unknown }): Promise<void> {
    await withJob(this.deps, tenantId, jobId, async (tx) => {
      if (tx.job.status === 'cancelled') return;
      if (TERMINAL_JOB.has(tx.job.status)) return;
      if (tx.job.mode !== 'local') throw new ConflictError('Only a job in local mode is completed by its worker; report its steps instead.');
      for (const step of await tx.steps()) {
        if (!TERMINAL_STEP.has(step.status)) await tx.setStep(step.name, { status: 'skipped', completedNow: true });
      }
      const outcome = jobOutcome((await tx.steps()).map(stepState))!;
      const output = outcome.status === 'completed' && body.output !== undefined && body.output !== null ? body.output : outcome.output;
      await tx.setJob({ status: outcome.status, output, error: outcome.error, completedNow: true });
    });
  }
}
