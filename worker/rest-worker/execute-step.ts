import { errorText, isStatus } from './client';
import type { WorkerContext } from './context';
import { LogShipper } from './log-shipper';
import type { ActionSpec, StepResult } from './protocol';
import { runStepProcess } from './runners';
import { failure, reportComplete } from './step-reports';
import { exitError, OutputCollector, StderrTail } from './step-output';

/** Why a step is being stopped; its message becomes the step's error. */
export class StepStop extends Error {
  override name = 'StepStop';
}

export const CANCELLED = 'Step cancelled';
export const SHUTTING_DOWN = 'worker shutting down';

/** The job a step belongs to, as far as running it is concerned. */
export type StepJob = { jobId: string; taskName: string | null; workspace: string; workspaceDir: string };

/** One step, its templates rendered. */
export type StepToRun = {
  stepName: string;
  actionType: string;
  runner: string | null;
  actionImage: string | null;
  spec: ActionSpec;
  input: Record<string, unknown>;
  timeoutSecs: number | null;
};

export type StepOutcome =
  | { status: 'completed'; output: unknown; result: StepResult }
  | { status: 'failed'; output: unknown; result: StepResult }
  /** The server said the step is not this worker's any more: nothing was run or reported. */
  | { status: 'abandoned' };

/**
 * Runs one step the server gave this worker (seed-systems §2.4, steps 2–6): marks it started,
 * runs it with its log shipped every `logFlushMs`, stops it when `stop` aborts (cancellation,
 * shutdown) or its timeout expires, then flushes the log and reports the result.
 */
export async function executeStep(ctx: WorkerContext, job: StepJob, step: StepToRun, stop: AbortSignal): Promise<StepOutcome> {
  const { jobId } = job;
  const { stepName } = step;
  try {
    await ctx.client.startStep(jobId, stepName, ctx.workerId());
  } catch (err) {
    if (isStatus(err, 404, 409)) {
      ctx.log.info({ jobId, step: stepName, error: errorText(err) }, 'step is no longer ours; abandoned');
      return { status: 'abandoned' };
    }
    const result = failure(`could not mark the step started: ${(err as Error).message}`);
    await reportComplete(ctx, jobId, stepName, result);
    return { status: 'failed', output: null, result };
  }
  ctx.log.info({ jobId, step: stepName, action: step.actionType, runner: step.runner }, 'step started');

  const shipper = new LogShipper((lines) => ctx.client.pushLogs(jobId, stepName, lines), {
    flushMs: ctx.timings.logFlushMs,
    onError: (err) => ctx.log.warn({ jobId, step: stepName, error: errorText(err) }, 'log batch not accepted'),
  });
  const output = new OutputCollector();
  const stderr = new StderrTail();
  const onLine = (stream: 'stdout' | 'stderr', line: string) => {
    shipper.push(stream, line);
    if (stream === 'stdout') output.line(line);
    else stderr.line(line);
  };

  const kill = new AbortController();
  const onStop = () => kill.abort(stop.reason instanceof StepStop ? stop.reason : new StepStop(CANCELLED));
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  const timeoutSecs = step.timeoutSecs && step.timeoutSecs > 0 ? step.timeoutSecs : null;
  const timer = timeoutSecs ? setTimeout(() => kill.abort(new StepStop(`Step timed out after ${timeoutSecs}s`)), timeoutSecs * 1000) : null;
  const stopMessage = () => (kill.signal.reason instanceof StepStop ? kill.signal.reason.message : CANCELLED);

  let result: StepResult;
  try {
    const run = await runStepProcess(
      {
        ...job,
        stepName,
        actionType: step.actionType,
        runner: step.runner,
        actionImage: step.actionImage,
        spec: step.spec,
        input: step.input,
        signal: kill.signal,
        killGraceMs: ctx.timings.killGraceMs,
        onLine,
      },
      ctx.runners,
    );
    if (kill.signal.aborted) result = failure(stopMessage());
    else if (run.exitCode === 0) result = { output: output.output, exit_code: 0, error: null };
    else if (run.exitCode === null) result = { output: output.output, exit_code: -1, error: `Killed by signal ${run.signal}\nStderr: ${stderr.tail}` };
    else result = { output: output.output, exit_code: run.exitCode, error: exitError(run.exitCode, stderr.tail) };
  } catch (err) {
    const message = kill.signal.aborted ? stopMessage() : (err as Error).message;
    shipper.push('stderr', message);
    result = failure(message);
  } finally {
    if (timer) clearTimeout(timer);
    stop.removeEventListener('abort', onStop);
  }

  await shipper.close();
  await reportComplete(ctx, jobId, stepName, result);
  const ok = result.exit_code === 0 && result.error === null;
  ctx.log.info({ jobId, step: stepName, exitCode: result.exit_code, ok }, 'step finished');
  return { status: ok ? 'completed' : 'failed', output: result.output, result };
}
