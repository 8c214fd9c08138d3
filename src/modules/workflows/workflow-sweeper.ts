import type { Orm } from '../../db/orm';
import { callDefiner } from '../../db/tenant-transaction';
import type { Bus } from '../../platform/bus';
import { BackgroundTask } from '../../platform/periodic-task';
import { SERVER_STEP } from './job';
import { withJob, type JobTransaction } from './job-progress';
import { TERMINAL_JOB } from './orchestrator';

export type WorkflowSweeperOptions = {
  orm: Orm;
  bus: Bus;
  /** Seed 001: 120 s without a heartbeat and a worker is inactive. */
  heartbeatTimeoutSeconds: number;
  /** Seed 001: a step ready this long with no active worker whose tags match fails. */
  unmatchedStepTimeoutSeconds: number;
  /** Past a step's timeout the worker gets this long to report before the server fails it. */
  timeoutGraceSeconds: number;
  tickMs: number;
  batchSize: number;
  onError: (err: unknown) => void;
};

/** The sweeper's conditions, checked again under the job lock before it acts. */
async function workerInactive(tx: JobTransaction, workerId: string): Promise<boolean> {
  const [worker] = await tx.sql.execute<{ status: string }[]>(`select status from workers where id = ?`, [workerId]);
  return worker?.status === 'inactive';
}

async function activeWorkerWith(tx: JobTransaction, tags: string[]): Promise<boolean> {
  const [match] = await tx.sql.execute<unknown[]>(`select 1 from workers where status = 'active' and ?::text[] <@ tags limit 1`, [tags]);
  return match !== undefined;
}

type Due = { reason: 'orphaned' | 'unmatched' | 'timed_out' | 'job_timed_out'; tenant_id: string; job_id: string; step_name: string | null };

/**
 * Seed 001's recovery sweeper, in the background of worker processes: silent workers become
 * inactive and their running steps fail; steps no active worker can take fail after a while;
 * steps and jobs past their timeouts end. Steps are failed, never retried (as in the seed). Any
 * number of processes may sweep: each action re-checks its condition under the job's lock.
 */
export class WorkflowSweeper extends BackgroundTask {
  constructor(private readonly options: WorkflowSweeperOptions) {
    super(options);
  }

  /** One round; answers how many steps and jobs it ended. */
  override async tick(): Promise<number> {
    const o = this.options;
    await callDefiner(o.orm, 'select tenant_id, id from runlane_silent_workers(?, ?)', [o.heartbeatTimeoutSeconds, o.batchSize]);
    const due = await callDefiner<Due>(o.orm, 'select reason, tenant_id, job_id, step_name from runlane_workflow_due(?, ?, ?)', [
      o.unmatchedStepTimeoutSeconds,
      o.timeoutGraceSeconds,
      o.batchSize,
    ]);
    let ended = 0;
    for (const item of due) {
      try {
        if (await this.settle(item)) ended++;
      } catch (err) {
        o.onError(err);
      }
    }
    return ended;
  }

  private settle(item: Due): Promise<boolean> {
    const deps = { orm: this.options.orm, bus: this.options.bus, onPublishError: this.options.onError };
    return withJob(deps, item.tenant_id, item.job_id, async (tx) => {
      if (TERMINAL_JOB.has(tx.job.status)) return false;
      if (item.reason === 'job_timed_out') return this.timeOutJob(tx);
      if (item.step_name === null) return this.failLocalJob(tx, item.reason);
      return this.failStep(tx, item.step_name, item.reason);
    });
  }

  private async failStep(tx: JobTransaction, name: string, reason: Due['reason']): Promise<boolean> {
    const step = await tx.step(name);
    if (!step) return false;
    let message: string;
    if (reason === 'orphaned' && step.status === 'running' && step.workerId) {
      if (!(await workerInactive(tx, step.workerId))) return false;
      message = `Worker heartbeat timeout (worker ${step.workerId} unresponsive)`;
    } else if (reason === 'unmatched' && step.status === 'ready') {
      if (await activeWorkerWith(tx, step.requiredTags)) return false;
      message = 'No active worker with required tags to run this step';
    } else if (reason === 'timed_out' && step.status === 'running') {
      message = 'Step timed out (server-side enforcement)';
    } else {
      return false;
    }
    await tx.failStep(name, message);
    return true;
  }

  /** A local-mode job whose worker went silent, or that no active worker can take. */
  private async failLocalJob(tx: JobTransaction, reason: Due['reason']): Promise<boolean> {
    if (tx.job.mode !== 'local') return false;
    let message: string;
    if (reason === 'orphaned' && tx.job.workerId) {
      if (!(await workerInactive(tx, tx.job.workerId))) return false;
      message = `Worker heartbeat timeout (worker ${tx.job.workerId} unresponsive)`;
    } else if (reason === 'unmatched' && tx.job.status === 'pending' && !tx.job.workerId) {
      if (await activeWorkerWith(tx, tx.job.requiredTags)) return false;
      message = 'No active worker with required tags to run this job';
    } else {
      return false;
    }
    for (const step of await tx.steps()) {
      if (step.status === 'running') await tx.setStep(step.name, { status: 'failed', error: message, completedNow: true });
      else if (step.status === 'pending' || step.status === 'ready') await tx.setStep(step.name, { status: 'skipped', completedNow: true });
    }
    await tx.setJob({ status: 'failed', error: message, completedNow: true });
    await tx.log([{ step: SERVER_STEP, stream: 'stderr', line: `job failed: ${message}` }]);
    return true;
  }

  /** Seed 001: a job past its timeout (counted from its creation; the deadline never moves) is cancelled. */
  private async timeOutJob(tx: JobTransaction): Promise<boolean> {
    for (const step of await tx.steps()) {
      if (step.status === 'pending' || step.status === 'ready' || step.status === 'running') await tx.setStep(step.name, { status: 'cancelled', completedNow: true });
    }
    const message = `Job timed out after ${tx.job.timeoutSeconds}s`;
    await tx.setJob({ status: 'cancelled', error: message, completedNow: true });
    await tx.log([{ step: SERVER_STEP, stream: 'stderr', line: message }]);
    return true;
  }
}
