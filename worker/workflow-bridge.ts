import type { App } from '../src/app';
import { callDefiner } from '../src/db/tenant-transaction';
import { ConflictError, DomainError } from '../src/db/errors';
import type { Actor } from '../src/platform/auth';
import { BackgroundTask } from '../src/platform/periodic-task';
import { TERMINAL_JOB } from '../src/modules/workflows/orchestrator';

type DueStep = { reason: 'start' | 'finish' | 'cancel'; tenant_id: string; job_id: string; step_name: string };
type AwaitingRun = { tenant_id: string; run_id: string; job_id: string };

/**
 * Where agent runs and workflows meet (DESIGN §1: the orchestration between two modules lives in
 * the door above them). In the background of worker processes:
 * - an `agent` step that became ready is enqueued as an agent run (one per step: its idempotency
 *   key is the step), and the step runs until the run ends, then completes with its output;
 * - a step cancelled (or failed by a timeout) stops its run;
 * - a run waiting on a workflow action it called as a tool goes back to the queue once that job
 *   ends (or its deadline passes), and a job whose calling run has ended is cancelled.
 * Any number of processes may run it: every move is a compare-and-set or idempotent.
 */
export class WorkflowBridge extends BackgroundTask {
  constructor(
    private readonly app: App,
    private readonly options: { tickMs: number; batchSize: number },
  ) {
    super({ tickMs: options.tickMs, onError: (err) => app.log.error({ err }, 'workflow bridge failed') });
  }

  /** One round; answers how many steps and runs it moved. */
  override async tick(): Promise<number> {
    const { orm } = this.app;
    const steps = await callDefiner<DueStep>(orm, 'select reason, tenant_id, job_id, step_name from runlane_agent_steps_due(?)', [this.options.batchSize]);
    const runs = await callDefiner<AwaitingRun>(orm, 'select tenant_id, run_id, job_id from runlane_runs_awaiting_jobs(?)', [this.options.batchSize]);
    const orphans = await callDefiner<{ tenant_id: string; job_id: string }>(orm, 'select tenant_id, job_id from runlane_orphaned_action_jobs(?)', [
      this.options.batchSize,
    ]);
    const results = await Promise.allSettled([
      ...steps.map((s) => this.moveStep(s)),
      ...runs.map((r) => this.resumeRun(r)),
      ...orphans.map((o) => this.cancelOrphan(o.tenant_id, o.job_id)),
    ]);
    let moved = 0;
    for (const r of results) {
      if (r.status === 'rejected') this.app.log.error({ err: r.reason }, 'workflow bridge step failed');
      else if (r.value) moved++;
    }
    return moved;
  }

  private system(tenantId: string): Actor {
    return { tenantId, name: 'system:workflows', scopes: new Set() };
  }

  private async moveStep(due: DueStep): Promise<boolean> {
    const { jobs, runs } = this.app.services;
    const tenantId = due.tenant_id;
    if (due.reason === 'start') {
      const request = await jobs.agentStepRequest(tenantId, due.job_id, due.step_name);
      if (!request) return true;
      let runId: string;
      try {
        const { run } = await runs.enqueue(
          this.system(tenantId),
          request.blueprint,
          { input: request.input, idempotencyKey: `job:${due.job_id}:${due.step_name}` },
          'workflow',
        );
        runId = run.id;
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        await jobs.failStep(tenantId, due.job_id, due.step_name, `The agent run could not start: ${err.message}`);
        return true;
      }
      if (!(await jobs.attachRun(tenantId, due.job_id, due.step_name, runId, request.input))) await this.stopRun(tenantId, runId);
      return true;
    }
    const step = (await jobs.steps(tenantId, due.job_id)).find((s) => s.name === due.step_name);
    if (!step?.runId) return false;
    if (due.reason === 'cancel') return this.stopRun(tenantId, step.runId);
    const run = await runs.find(tenantId, step.runId);
    if (!run) return false;
    await jobs.finishAgentStep(tenantId, due.job_id, due.step_name, run.id, {
      ok: run.status === 'succeeded',
      output: run.output ?? null,
      error: run.status === 'succeeded' ? null : `Agent run ${run.status}${run.failureCategory ? `: ${run.failureCategory}` : ''}${run.failureDetail ? `: ${run.failureDetail}` : ''}`,
    });
    return true;
  }

  private async stopRun(tenantId: string, runId: string): Promise<boolean> {
    try {
      await this.app.services.runs.cancel(this.system(tenantId), runId);
    } catch (err) {
      // Already ended: nothing to stop.
      if (!(err instanceof ConflictError)) throw err;
    }
    return true;
  }

  /** A job whose calling run has ended: nobody waits for its result. */
  private async cancelOrphan(tenantId: string, jobId: string): Promise<boolean> {
    try {
      await this.app.services.jobs.cancel(this.system(tenantId), jobId);
      return true;
    } catch (err) {
      if (err instanceof ConflictError) return false;
      throw err;
    }
  }

  private async resumeRun(awaiting: AwaitingRun): Promise<boolean> {
    const job = await this.app.services.jobs.find(awaiting.tenant_id, awaiting.job_id);
    const ended = job !== null && TERMINAL_JOB.has(job.status);
    const resumed = await this.app.services.runs.resumeWaiting(awaiting.tenant_id, awaiting.run_id, {
      type: ended ? 'job_ended' : 'deadline_passed',
      detail: { jobId: awaiting.job_id, ...(job ? { jobStatus: job.status } : {}) },
    });
    if (resumed && ended) await this.app.services.jobs.markCallerResumed(awaiting.tenant_id, awaiting.job_id);
    return resumed;
  }
}
