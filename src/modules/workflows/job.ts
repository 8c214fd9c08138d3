import type { ActionDef } from './definition/types';
import type { JobStatus, StepState, StepStatus } from './orchestrator';

export type JobMode = 'distributed' | 'local';
export type JobSourceType = 'api' | 'user' | 'run';
export type StepRunner = 'local' | 'docker' | 'pod' | 'none';

/** A job: one execution of a workspace task (seed 001), pinned to the revision it started from. */
export type Job = {
  id: string;
  tenantId: string;
  workspace: string;
  revision: string;
  taskName: string;
  mode: JobMode;
  status: JobStatus;
  input: Record<string, unknown>;
  output: unknown;
  errorMessage: string | null;
  sourceType: JobSourceType;
  sourceId: string | null;
  timeoutSeconds: number | null;
  deadlineAt: Date | null;
  workerId: string | null;
  requiredTags: string[];
  createdAt: Date;
  startedAt: Date | null;
  completedAt: Date | null;
  updatedAt: Date;
};

export type JobStep = {
  jobId: string;
  name: string;
  position: number;
  actionName: string;
  actionType: ActionDef['type'];
  actionImage: string | null;
  runner: StepRunner;
  /** The action as defined until the step is claimed; rendered from then on. */
  actionSpec: ActionDef;
  inputTemplate: Record<string, unknown>;
  /** Rendered at claim time; null before. */
  input: Record<string, unknown> | null;
  output: unknown;
  status: StepStatus;
  requiredTags: string[];
  dependsOn: string[];
  continueOnFailure: boolean;
  when: string | null;
  timeoutSeconds: number | null;
  workerId: string | null;
  runId: string | null;
  errorMessage: string | null;
  readyAt: Date | null;
  startedAt: Date | null;
  completedAt: Date | null;
};

const date = (v: unknown) => (v ? new Date(v as string) : null);

export function jobFromRow(r: Record<string, any>): Job {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    workspace: r.workspace,
    revision: r.revision,
    taskName: r.task_name,
    mode: r.mode,
    status: r.status,
    input: r.input ?? {},
    output: r.output ?? null,
    errorMessage: r.error_message ?? null,
    sourceType: r.source_type,
    sourceId: r.source_id ?? null,
    timeoutSeconds: r.timeout_seconds ?? null,
    deadlineAt: date(r.deadline_at),
    workerId: r.worker_id ?? null,
    requiredTags: r.required_tags ?? [],
    createdAt: new Date(r.created_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function stepFromRow(r: Record<string, any>): JobStep {
  return {
    jobId: r.job_id,
    name: r.step_name,
    position: r.position,
    actionName: r.action_name,
    actionType: r.action_type,
    actionImage: r.action_image ?? null,
    runner: r.runner,
    actionSpec: r.action_spec,
    inputTemplate: r.input_template ?? {},
    input: r.input ?? null,
    output: r.output ?? null,
    status: r.status,
    requiredTags: r.required_tags ?? [],
    dependsOn: r.depends_on ?? [],
    continueOnFailure: r.continue_on_failure,
    when: r.when_condition ?? null,
    timeoutSeconds: r.timeout_seconds ?? null,
    workerId: r.worker_id ?? null,
    runId: r.run_id ?? null,
    errorMessage: r.error_message ?? null,
    readyAt: date(r.ready_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
  };
}

export function stepState(s: JobStep): StepState {
  return { name: s.name, status: s.status, dependsOn: s.dependsOn, continueOnFailure: s.continueOnFailure, when: s.when, output: s.output };
}

/** Step name of lines the server itself writes to a job's log (recovery, render failures, cancellation). */
export const SERVER_STEP = '_server';
