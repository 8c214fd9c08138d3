import { runDocker, type DockerRunnerOptions } from './docker-runner';
import { runLocalScript, type LocalRunnerOptions } from './local-runner';
import type { RunnerResult, StepContext } from './step-context';

export const POD_UNSUPPORTED = 'pod runner is not supported by the reference worker';

export type RunnerOptions = { local: LocalRunnerOptions; docker: DockerRunnerOptions };

/**
 * Picks the runner for (action type, runner) as Strøm's executor does: script+local → this
 * machine, script+docker and docker → the docker CLI, pod → not supported here. Throws for a step
 * this worker cannot run; the caller reports it with exit code -1.
 */
export async function runStepProcess(ctx: StepContext, options: RunnerOptions): Promise<RunnerResult> {
  switch (ctx.actionType) {
    case 'script':
      switch (ctx.runner ?? 'local') {
        case 'local':
        case 'none':
          return runLocalScript(ctx, options.local);
        case 'docker':
          return runDocker(ctx, options.docker);
        case 'pod':
          throw new Error(POD_UNSUPPORTED);
        default:
          throw new Error(`unknown runner "${ctx.runner}" for a script action`);
      }
    case 'docker':
      return runDocker(ctx, options.docker);
    case 'pod':
      throw new Error(POD_UNSUPPORTED);
    case 'agent':
      throw new Error('agent steps run on the server\'s built-in pool, not on a REST worker');
    default:
      throw new Error(`action type "${ctx.actionType}" cannot run on the reference worker`);
  }
}
