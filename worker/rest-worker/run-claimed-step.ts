import type { WorkerContext } from './context';
import { executeStep } from './execute-step';
import { JobStop } from './job-stop';
import type { StepClaim } from './protocol';
import { failWithoutRunning } from './step-reports';
import type { WorkspaceLease } from './workspace-cache';

/**
 * A claimed step of a distributed job: fetch (or reuse) its workspace revision, then run it. A
 * workspace that cannot be fetched fails the step with exit code -1 and the reason on stderr.
 */
export async function runClaimedStep(ctx: WorkerContext, claim: StepClaim, shutdown: AbortSignal): Promise<void> {
  let lease: WorkspaceLease;
  try {
    lease = await ctx.cache.acquire(claim.workspace, claim.revision ?? null);
  } catch (err) {
    const message = (err as Error).message;
    ctx.log.warn({ jobId: claim.job_id, step: claim.step_name, workspace: claim.workspace, error: message }, 'workspace unavailable');
    await failWithoutRunning(ctx, claim.job_id, claim.step_name, message, { start: false });
    return;
  }
  const stop = new JobStop(ctx, claim.job_id, shutdown);
  try {
    await executeStep(
      ctx,
      { jobId: claim.job_id, taskName: claim.task_name ?? null, workspace: claim.workspace, workspaceDir: lease.dir },
      {
        stepName: claim.step_name,
        actionType: claim.action_type,
        runner: claim.runner ?? null,
        actionImage: claim.action_image ?? null,
        spec: claim.action_spec ?? {},
        input: claim.input ?? {},
        timeoutSecs: claim.timeout_secs ?? null,
      },
      stop.signal,
    );
  } finally {
    stop.close();
    lease.release();
  }
}
