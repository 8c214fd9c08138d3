/**
 * The `/worker/*` REST protocol as the reference worker sees it (DESIGN §5, seed 001): request and
 * answer bodies only. The worker speaks nothing else to the server.
 */

/** `action_spec` of a claim: the ActionDef as JSON, snake_case on the wire. */
export type ActionSpec = {
  type?: string;
  script?: string | null;
  source?: string | null;
  language?: string | null;
  interpreter?: string | null;
  dependencies?: string[] | null;
  image?: string | null;
  cmd?: string[] | string | null;
  entrypoint?: string[] | string | null;
  command?: string[] | string | null;
  env?: Record<string, unknown> | null;
  tags?: string[] | null;
  workdir?: string | null;
  [key: string]: unknown;
};

/** One step of a distributed job, templates already rendered by the server. */
export type StepClaim = {
  job_id: string;
  workspace: string;
  task_name: string | null;
  step_name: string;
  action_name: string | null;
  action_type: string;
  action_image: string | null;
  runner: string | null;
  action_spec: ActionSpec;
  input: Record<string, unknown> | null;
  timeout_secs?: number | null;
  revision?: string | null;
  mode?: 'distributed' | null;
};

/** A step of a local-mode job: templates NOT rendered, the worker renders them as it walks. */
export type LocalStep = {
  step_name: string;
  action_name: string | null;
  action_type: string;
  runner: string | null;
  action_image?: string | null;
  action_spec: ActionSpec;
  input: Record<string, unknown> | null;
  depends_on: string[];
  continue_on_failure: boolean;
  when: string | null;
  timeout_secs: number | null;
};

/** A whole job of a task in `mode: local`; the worker walks its DAG itself. */
export type LocalJobClaim = {
  job_id: string;
  workspace: string;
  task_name: string | null;
  mode: 'local';
  step_name: null;
  input: Record<string, unknown> | null;
  timeout_secs?: number | null;
  revision?: string | null;
  steps: LocalStep[];
};

export type Claim = StepClaim | LocalJobClaim;

export function isLocalJob(claim: Claim): claim is LocalJobClaim {
  return claim.mode === 'local';
}

export type LogStream = 'stdout' | 'stderr';
export type LogLine = { ts: string; stream: LogStream; line: string };

/** Body of `POST /worker/jobs/{id}/steps/{step}/complete`. */
export type StepResult = { output: unknown; exit_code: number; error: string | null };
