import { errorText, isStatus, isTransient } from './client';
import type { WorkerContext } from './context';
import type { StepResult } from './protocol';
import { sleep } from './timing';

const REPORT_ATTEMPTS = 5;
const MAX_RETRY_MS = 10_000;

/** A failure before or instead of running: exit code -1 and the message (seed-systems §2.4). */
export function failure(message: string): StepResult {
  return { output: null, exit_code: -1, error: message };
}

/**
 * `POST …/steps/{step}/complete`, retried while the server is unreachable or failing; a refusal
 * (the step is not ours any more, the job was cancelled) is logged and accepted.
 */
export async function reportComplete(ctx: WorkerContext, jobId: string, stepName: string, result: StepResult): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await ctx.client.completeStep(jobId, stepName, result);
      return true;
    } catch (err) {
      const retry = isTransient(err) && attempt + 1 < REPORT_ATTEMPTS;
      ctx.log.warn({ jobId, step: stepName, error: errorText(err), retry }, 'step completion not accepted');
      if (!retry) return false;
      await sleep(Math.min(ctx.timings.retryBaseMs * 2 ** attempt, MAX_RETRY_MS));
    }
  }
}

/** One stderr line straight to the job log (outside a step's buffered log). */
export async function pushLine(ctx: WorkerContext, jobId: string, stepName: string, line: string): Promise<void> {
  await ctx.client.pushLogs(jobId, stepName, [{ ts: new Date().toISOString(), stream: 'stderr', line }]).catch((err) => {
    ctx.log.warn({ jobId, step: stepName, error: errorText(err) }, 'log line not accepted');
  });
}

/**
 * A step that fails without running (its workspace could not be fetched, its templates did not
 * render): optionally marked started, the reason logged on stderr, completed with -1.
 * Returns false when the server says the step is not this worker's.
 */
export async function failWithoutRunning(ctx: WorkerContext, jobId: string, stepName: string, message: string, options: { start: boolean }): Promise<boolean> {
  if (options.start) {
    try {
      await ctx.client.startStep(jobId, stepName, ctx.workerId());
    } catch (err) {
      if (isStatus(err, 404, 409)) return false;
      ctx.log.warn({ jobId, step: stepName, error: errorText(err) }, 'step start not accepted');
    }
  }
  await pushLine(ctx, jobId, stepName, message);
  await reportComplete(ctx, jobId, stepName, failure(message));
  return true;
}
