import { randomUUID } from 'node:crypto';
import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { afterCondition, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import type { Bus } from '../../platform/bus';
import { requiredTags } from './definition/required-tags';
import { resolveTaskInput } from './definition/task-input';
import type { ActionDef, TaskDef } from './definition/types';
import { renderValue, templateContext, TemplateError } from './definition/templates';
import { jobFromRow, SERVER_STEP, stepFromRow, type Job, type JobSourceType, type JobStep, type StepRunner } from './job';
import { announce, JobTransaction, withJob } from './job-progress';
import { TERMINAL_JOB, type JobStatus } from './orchestrator';
import type { Workspace, WorkspaceService } from './workspace.service';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const satisfies readonly JobStatus[];

export type JobFilter = PageArgs & { workspace?: string | null; status?: JobStatus | null; taskName?: string | null };
export type JobSource = { type: JobSourceType; id?: string | null };

const MAX_INPUT_BYTES = 256 * 1024;

export function runnerOf(action: ActionDef): StepRunner {
  return action.type === 'script' ? (action.runner ?? 'local') : 'none';
}

/**
 * Jobs (seed 001): a task's execution. Executing writes the job and all its steps in one
 * transaction; from then on steps move only through JobTransaction (claims, completions, the
 * sweeper, cancellation), under the job row's lock.
 */
export class JobService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; workspaces: WorkspaceService; onPublishError: (err: unknown) => void }) {}

  /**
   * Starts a task of the workspace's current revision with `input` (checked against the task's
   * input fields, defaults merged). A source of type 'run' is idempotent: the same run tool call
   * gets the same job.
   */
  async execute(actor: Actor, workspaceName: string, taskName: string, input: unknown, source: JobSource = { type: 'api' }): Promise<Job> {
    const workspace = await this.deps.workspaces.get(actor.tenantId, workspaceName);
    const task: TaskDef | undefined = Object.hasOwn(workspace.definition.tasks, taskName) ? workspace.definition.tasks[taskName] : undefined;
    if (!task) throw new NotFoundError('Task');
    return this.start(actor, workspace, task, input, source);
  }

  /**
   * One action of a workspace as a one-step job (an agent run calling `action:<ws>/<action>`):
   * the input is checked against the action's input fields and handed to the step as is.
   */
  async runAction(actor: Actor, workspaceName: string, actionName: string, input: unknown, source: JobSource): Promise<Job> {
    const workspace = await this.deps.workspaces.get(actor.tenantId, workspaceName);
    const action = Object.hasOwn(workspace.definition.actions, actionName) ? workspace.definition.actions[actionName] : undefined;
    if (!action || actionName.startsWith('_inline:')) throw new NotFoundError('Action');
    const task: TaskDef = {
      name: `_action:${actionName}`,
      mode: 'distributed',
      input: action.input,
      // The whole job input, unrendered: '{{ input }}' is one expression, so it keeps its JSON value.
      flow: [{ name: 'action', action: actionName, input: '{{ input }}' as never, dependsOn: [], continueOnFailure: false }],
    };
    return this.start(actor, workspace, task, input, source);
  }

  private async start(actor: Actor, workspace: Workspace, task: TaskDef, input: unknown, source: JobSource): Promise<Job> {
    if (input !== undefined && input !== null && Buffer.byteLength(JSON.stringify(input)) > MAX_INPUT_BYTES) {
      throw new InputError(`input must be at most ${MAX_INPUT_BYTES} bytes of JSON`, 'input');
    }
    const resolved = resolveTaskInput(task.input, input);
    if (!resolved.ok) throw new InputError(`Invalid input: ${resolved.problems.join('; ')}`, 'input');
    const actions = task.flow.map((step) => workspace.definition.actions[step.action]!);
    if (task.mode === 'local' && actions.some((a) => a.type === 'agent')) {
      throw new InputError('A task in local mode cannot have agent steps: they run on the built-in pool.', 'task');
    }
    const local = task.mode === 'local';
    const jobTags = local ? [...new Set(actions.flatMap(requiredTags))].sort() : [];
    const steps = task.flow.map((step, position) => {
      const action = actions[position]!;
      return {
        step_name: step.name,
        position,
        action_name: action.name,
        action_type: action.type,
        action_image: action.image ?? null,
        runner: runnerOf(action),
        action_spec: action,
        input_template: step.input,
        status: !local && step.dependsOn.length === 0 && step.when === undefined ? 'ready' : 'pending',
        required_tags: requiredTags(action),
        depends_on: step.dependsOn,
        continue_on_failure: step.continueOnFailure,
        when_condition: step.when ?? null,
        timeout_seconds: step.timeoutSeconds ?? null,
      };
    });

    const tx = await inTenantSql(this.deps.orm, actor.tenantId, async (sql) => {
      if (source.type === 'run') {
        const [existing] = await sql.execute<Record<string, any>[]>(`select * from jobs where source_type = 'run' and source_id = ?`, [source.id]);
        if (existing) return { existing: jobFromRow(existing) };
      }
      const [row] = await sql.execute<Record<string, any>[]>(
        `insert into jobs (tenant_id, id, workspace, revision, task_name, mode, input, source_type, source_id, timeout_seconds, deadline_at, required_tags)
         values (?, ?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, now() + make_interval(secs => ?), ?::text[])
         returning *`,
        [
          actor.tenantId,
          randomUUID(),
          workspace.name,
          workspace.revision,
          task.name,
          task.mode,
          JSON.stringify(resolved.input),
          source.type,
          source.id ?? null,
          task.timeoutSeconds ?? null,
          task.timeoutSeconds ?? null,
          jobTags,
        ],
      );
      const job = jobFromRow(row!);
      await sql.execute(
        `insert into job_steps (tenant_id, job_id, step_name, position, action_name, action_type, action_image, runner, action_spec,
                                input_template, status, required_tags, depends_on, continue_on_failure, when_condition, timeout_seconds, ready_at)
         select ?, ?, x.step_name, x.position, x.action_name, x.action_type, x.action_image, x.runner, x.action_spec,
                x.input_template, x.status, array(select jsonb_array_elements_text(x.required_tags)), array(select jsonb_array_elements_text(x.depends_on)),
                x.continue_on_failure, x.when_condition, x.timeout_seconds, case when x.status = 'ready' then now() end
           from jsonb_to_recordset(?::jsonb) as x(step_name text, position integer, action_name text, action_type text, action_image text,
                runner text, action_spec jsonb, input_template jsonb, status text, required_tags jsonb, depends_on jsonb,
                continue_on_failure boolean, when_condition text, timeout_seconds integer)`,
        [actor.tenantId, job.id, JSON.stringify(steps)],
      );
      const created = new JobTransaction(sql, job);
      // Root steps with a `when` are decided now, from the input alone.
      await created.advance();
      await created.log([{ step: SERVER_STEP, stream: 'stdout', line: `job created from ${workspace.name}/${task.name} at revision ${workspace.revision.slice(0, 12)} by ${actor.name}` }]);
      return { created };
    });
    if ('existing' in tx) return tx.existing!;
    announce(this.deps, tx.created);
    return tx.created.job;
  }

  /** Newest first. */
  async list(tenantId: string, filter: JobFilter): Promise<Page<Job>> {
    const size = pageSize(filter.first);
    if (filter.status && !(JOB_STATUSES as readonly string[]).includes(filter.status)) {
      throw new InputError(`status must be one of ${JOB_STATUSES.join(', ')}`, 'status');
    }
    const conditions: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['workspace', filter.workspace],
      ['status', filter.status],
      ['task_name', filter.taskName],
    ] as const) {
      if (value) (conditions.push(`${column} = ?`), params.push(value));
    }
    const after = afterCondition(filter.after);
    if (after) (conditions.push(after.sql), params.push(...after.params));
    const where = conditions.length > 0 ? ` where ${conditions.join(' and ')}` : '';
    const rows = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(`select * from jobs${where} order by created_at desc, id desc limit ?`, [...params, size + 1]),
    );
    return toPage(rows.map(jobFromRow), size);
  }

  async find(tenantId: string, id: string): Promise<Job | null> {
    if (!isUuid(id)) return null;
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<Record<string, any>[]>(`select * from jobs where id = ?`, [id]));
    return row ? jobFromRow(row) : null;
  }

  async get(tenantId: string, id: string): Promise<Job> {
    const job = await this.find(tenantId, id);
    if (!job) throw new NotFoundError('Job');
    return job;
  }

  /** In flow order. */
  async steps(tenantId: string, jobId: string): Promise<JobStep[]> {
    if (!isUuid(jobId)) return [];
    const rows = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(`select * from job_steps where job_id = ? order by position`, [jobId]),
    );
    return rows.map(stepFromRow);
  }

  /**
   * Cancels a job that has not ended: its pending, ready and running steps are cancelled at once
   * (workers running one learn it from /worker/jobs/{id}/cancelled, agent steps' runs are
   * cancelled by the pool). An ended job is a ConflictError.
   */
  async cancel(actor: Actor, id: string): Promise<Job> {
    return withJob(this.deps, actor.tenantId, id, async (tx) => {
      if (TERMINAL_JOB.has(tx.job.status)) throw new ConflictError(`The job is already ${tx.job.status}.`);
      for (const step of await tx.steps()) {
        if (step.status === 'pending' || step.status === 'ready' || step.status === 'running') {
          await tx.setStep(step.name, { status: 'cancelled', completedNow: true });
        }
      }
      await tx.setJob({ status: 'cancelled', completedNow: true, error: `Cancelled by ${actor.name}` });
      await tx.log([{ step: SERVER_STEP, stream: 'stderr', line: `job cancelled by ${actor.name}` }]);
      return tx.job;
    });
  }

  /**
   * An agent step that became ready, rendered for its run: the blueprint and the run's input (the
   * step's input plus the rendered prompt). Null when the step is not ready any more, or did not
   * render (then it has failed, and the job moved on).
   */
  async agentStepRequest(tenantId: string, jobId: string, stepName: string): Promise<{ blueprint: string; input: Record<string, unknown> } | null> {
    return withJob(this.deps, tenantId, jobId, async (tx) => {
      const step = await tx.step(stepName);
      if (!step || step.status !== 'ready' || step.actionType !== 'agent') return null;
      const outputs = Object.fromEntries((await tx.steps()).filter((s) => s.status === 'completed').map((s) => [s.name, s.output]));
      try {
        const input = renderValue(step.inputTemplate, templateContext(tx.job.input, outputs)) as Record<string, unknown>;
        const prompt = step.actionSpec.prompt === undefined ? undefined : renderValue(step.actionSpec.prompt, templateContext({ ...tx.job.input, ...input }, outputs));
        return { blueprint: step.actionSpec.blueprint!, input: { ...input, ...(prompt === undefined ? {} : { prompt: String(prompt) }) } };
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        await tx.failStep(stepName, `Template rendering failed: ${err.message}`);
        return null;
      }
    });
  }

  /** The agent step's run was enqueued: the step runs. False when the step moved on meanwhile (its run should stop). */
  async attachRun(tenantId: string, jobId: string, stepName: string, runId: string, input: Record<string, unknown>): Promise<boolean> {
    return withJob(this.deps, tenantId, jobId, async (tx) => {
      const step = await tx.step(stepName);
      if (step?.status === 'running' && step.runId === runId) return true;
      if (step?.status !== 'ready') return false;
      await tx.setStep(stepName, { status: 'running', runId, input, startedNow: true });
      if (tx.job.status === 'pending') await tx.setJob({ status: 'running', startedNow: true });
      await tx.log([{ step: SERVER_STEP, stream: 'stdout', line: `step ${stepName} runs as agent run ${runId}` }]);
      return true;
    });
  }

  /** A step that could not start (its run was refused: no config, circuit open…) fails with why. */
  async failStep(tenantId: string, jobId: string, stepName: string, reason: string): Promise<void> {
    await withJob(this.deps, tenantId, jobId, async (tx) => {
      const step = await tx.step(stepName);
      if (!step || (step.status !== 'ready' && step.status !== 'running')) return;
      await tx.failStep(stepName, reason);
    });
  }

  /** The agent step's run ended: the step completes with its output, or fails with why. */
  async finishAgentStep(tenantId: string, jobId: string, stepName: string, runId: string, result: { ok: boolean; output: unknown; error: string | null }): Promise<void> {
    await withJob(this.deps, tenantId, jobId, async (tx) => {
      const step = await tx.step(stepName);
      if (!step || step.status !== 'running' || step.runId !== runId) return;
      await tx.setStep(stepName, { status: result.ok ? 'completed' : 'failed', output: result.output, error: result.error, completedNow: true });
      if (!result.ok) await tx.log([{ step: SERVER_STEP, stream: 'stderr', line: `step ${stepName} failed: ${result.error}` }]);
      await tx.advance();
    });
  }

  /** The run that started this job (as a tool call) has been put back in the queue with its result. */
  async markCallerResumed(tenantId: string, jobId: string): Promise<void> {
    await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute(`update jobs set caller_resumed = true where id = ?`, [jobId]));
  }
}
