/**
 * The environment a step's process gets: a few harmless variables of the worker's own (never its
 * token or anything else it was started with), the RUNLANE_* step identity, then the action's `env`.
 */

/** The only variables of the worker's environment a local step inherits. */
export const INHERITED_VARS = ['PATH', 'HOME', 'LANG', 'TMPDIR'] as const;

export type StepIdentity = {
  jobId: string;
  taskName: string | null;
  stepName: string;
  workspace: string;
  /** Where the workspace is, as the process sees it. */
  workspaceDir: string;
};

export function identityEnv(step: StepIdentity): Record<string, string> {
  return {
    RUNLANE_JOB_ID: step.jobId,
    RUNLANE_TASK_NAME: step.taskName ?? '',
    RUNLANE_STEP_NAME: step.stepName,
    RUNLANE_WORKSPACE: step.workspace,
    RUNLANE_WORKSPACE_DIR: step.workspaceDir,
  };
}

/** The action's `env`: string values as they are, others as JSON (null and undefined dropped). */
export function actionEnv(env: Record<string, unknown> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [key, value] of Object.entries(env ?? {})) {
    if (value === null || value === undefined || !key || key.includes('=')) continue;
    result[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return result;
}

/** The full environment of a process run on this machine. */
export function localStepEnv(base: Record<string, string | undefined>, step: StepIdentity, env: Record<string, unknown> | null | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of INHERITED_VARS) {
    const value = base[name];
    if (value !== undefined) result[name] = value;
  }
  return { ...result, ...identityEnv(step), ...actionEnv(env) };
}

/** Read by the docker CLI itself (never passed into a container or a local step). */
export const DOCKER_CLI_VARS = ['DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT'] as const;

/** The worker's own variables the runners may use, read once. */
export function inheritedEnv(): Record<string, string | undefined> {
  const picked: Record<string, string | undefined> = {};
  for (const name of [...INHERITED_VARS, ...DOCKER_CLI_VARS]) picked[name] = process.env[name];
  return picked;
}
