import { evaluateWhen, templateContext, TemplateError } from '../../src/modules/workflows/definition/templates';
import { errorText } from './client';
import type { WorkerContext } from './context';
import { executeStep, SHUTTING_DOWN, type StepJob } from './execute-step';
import { JobStop } from './job-stop';
import type { LocalJobClaim, LocalStep } from './protocol';
import { renderLocalStep } from './render-step';
import { failWithoutRunning } from './step-reports';
import type { WorkspaceLease } from './workspace-cache';

type Status = 'pending' | 'running' | 'completed' | 'failed' | 'skipped';

/**
 * A whole job of a task in `mode: local` (seed-systems §2.9): the worker walks the DAG with the
 * server's rules (§2.5), rendering each step's input and action as it becomes runnable, runs
 * independent steps in parallel, reports every step it runs (start, logs, complete; skipped steps are
 * not reported), and finally `POST /worker/jobs/{id}/complete` with the outputs of the completed
 * steps nobody depends on. A cancelled job, or one interrupted by shutdown, is not completed.
 */
export async function runLocalJob(ctx: WorkerContext, claim: LocalJobClaim, shutdown: AbortSignal): Promise<void> {
  const jobId = claim.job_id;
  const jobInput = claim.input ?? {};
  const steps = claim.steps ?? [];
  const status = new Map<string, Status>(steps.map((s) => [s.step_name, 'pending']));
  const outputs: Record<string, unknown> = {};

  let lease: WorkspaceLease | null = null;
  let workspaceError: string | null = null;
  try {
    lease = await ctx.cache.acquire(claim.workspace, claim.revision ?? null);
  } catch (err) {
    workspaceError = (err as Error).message;
    ctx.log.warn({ jobId, workspace: claim.workspace, error: workspaceError }, 'workspace unavailable');
  }
  const stop = new JobStop(ctx, jobId, shutdown);
  const jobTimer = claim.timeout_secs && claim.timeout_secs > 0 ? setTimeout(() => stop.abort(`Job timed out after ${claim.timeout_secs}s`), claim.timeout_secs * 1000) : null;
  const job: StepJob = { jobId, taskName: claim.task_name ?? null, workspace: claim.workspace, workspaceDir: lease?.dir ?? '' };
  ctx.log.info({ jobId, task: claim.task_name, steps: steps.length }, 'local job started');

  const running = new Map<string, Promise<void>>();
  const fail = (step: LocalStep, message: string) => {
    status.set(step.step_name, 'failed');
    running.set(
      step.step_name,
      failWithoutRunning(ctx, jobId, step.step_name, message, { start: true }).then(() => {
        running.delete(step.step_name);
      }),
    );
  };
  const launch = (step: LocalStep) => {
    if (workspaceError) return fail(step, workspaceError);
    let rendered;
    try {
      rendered = renderLocalStep(step, jobInput, outputs);
    } catch (err) {
      return fail(step, err instanceof TemplateError ? `template error: ${err.message}` : `cannot prepare the step: ${(err as Error).message}`);
    }
    status.set(step.step_name, 'running');
    const run = executeStep(
      ctx,
      job,
      {
        stepName: step.step_name,
        actionType: step.action_type,
        runner: step.runner ?? null,
        actionImage: step.action_image ?? null,
        spec: rendered.spec,
        input: rendered.input,
        timeoutSecs: step.timeout_secs ?? null,
      },
      stop.signal,
    ).then(
      (outcome) => {
        if (outcome.status === 'completed') {
          status.set(step.step_name, 'completed');
          outputs[step.step_name] = outcome.output ?? null;
        } else status.set(step.step_name, 'failed');
      },
      (err) => {
        ctx.log.error({ jobId, step: step.step_name, err }, 'step execution failed');
        status.set(step.step_name, 'failed');
      },
    );
    running.set(step.step_name, run.finally(() => running.delete(step.step_name)));
  };

  try {
    for (;;) {
      if (!stop.signal.aborted) advance(steps, status, jobInput, outputs, launch, fail);
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    if (jobTimer) clearTimeout(jobTimer);
    stop.close();
    lease?.release();
  }

  const reason = stop.signal.aborted ? (stop.signal.reason as Error).message : null;
  if (stop.cancelled || reason === SHUTTING_DOWN) {
    ctx.log.info({ jobId, reason }, 'local job stopped; not completed');
    return;
  }
  const dependedOn = new Set(steps.flatMap((s) => s.depends_on ?? []));
  const output = Object.fromEntries(steps.filter((s) => !dependedOn.has(s.step_name) && status.get(s.step_name) === 'completed').map((s) => [s.step_name, outputs[s.step_name] ?? null]));
  try {
    await ctx.client.completeJob(jobId, output);
    ctx.log.info({ jobId }, 'local job completed');
  } catch (err) {
    ctx.log.warn({ jobId, error: errorText(err) }, 'job completion not accepted');
  }
}

/**
 * One pass of the seed's promotion rules over the pending steps, repeated until nothing changes:
 * a failed dependency without continue_on_failure skips the step; once every dependency is done, a
 * step whose dependencies were all skipped is skipped (unless continue_on_failure), otherwise its
 * `when` decides (false → skipped, a template error → failed) and it is launched.
 */
function advance(
  steps: LocalStep[],
  status: Map<string, Status>,
  jobInput: Record<string, unknown>,
  outputs: Record<string, unknown>,
  launch: (step: LocalStep) => void,
  fail: (step: LocalStep, message: string) => void,
): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const step of steps) {
      if (status.get(step.step_name) !== 'pending') continue;
      // A dependency the job does not have counts as skipped, like the server's orchestrator.
      const deps = (step.depends_on ?? []).map((d) => status.get(d) ?? 'skipped');
      const cof = step.continue_on_failure === true;
      if (!cof && deps.includes('failed')) {
        status.set(step.step_name, 'skipped');
      } else if (deps.every((d) => d === 'completed' || d === 'failed' || d === 'skipped')) {
        if (!cof && deps.length > 0 && deps.every((d) => d === 'skipped')) {
          status.set(step.step_name, 'skipped');
        } else if (step.when !== null && step.when !== undefined && step.when !== '') {
          let verdict: boolean;
          try {
            verdict = evaluateWhen(step.when, templateContext(jobInput, outputs));
          } catch (err) {
            fail(step, `when condition failed: ${(err as Error).message}`);
            changed = true;
            continue;
          }
          if (verdict) launch(step);
          else status.set(step.step_name, 'skipped');
        } else {
          launch(step);
        }
      } else continue;
      changed = true;
    }
  }
}
