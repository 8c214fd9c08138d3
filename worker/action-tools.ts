import { InputError, NotFoundError } from '../src/db/errors';
import { ToolInputError, type AgentTool } from '../src/platform/agent-tools';
import type { RunJournal } from '../src/modules/runs/run-journal';
import type { InputField } from '../src/modules/workflows/definition/types';
import type { JobService } from '../src/modules/workflows/job.service';
import type { WorkspaceService } from '../src/modules/workflows/workspace.service';
import { TERMINAL_JOB } from '../src/modules/workflows/orchestrator';
import { RunFailure, RunWaiting } from './run-failure';

/** How a config names a workspace action it offers its runs: `action:<workspace>/<action>`. */
export const ACTION_REF = /^action:([A-Za-z0-9][A-Za-z0-9_.-]{0,63})\/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})$/;

export const isActionRef = (name: string) => name.startsWith('action:');

/** The name the model sees: the Messages API allows no ':' or '/'. */
export function actionToolName(workspace: string, action: string): string {
  return `action__${workspace}__${action}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
}

const JSON_TYPES: Record<InputField['type'], Record<string, unknown>> = {
  string: { type: 'string' },
  text: { type: 'string' },
  integer: { type: 'integer' },
  number: { type: 'number' },
  boolean: { type: 'boolean' },
  date: { type: 'string', format: 'date' },
  datetime: { type: 'string', format: 'date-time' },
  object: { type: 'object' },
  array: { type: 'array' },
};

/** An action's input fields as the JSON Schema handed to the model. */
export function inputSchemaOf(fields: Record<string, InputField>): Record<string, unknown> {
  const properties = Object.fromEntries(
    Object.entries(fields).map(([name, f]) => [
      name,
      { ...JSON_TYPES[f.type], ...(f.description ? { description: f.description } : {}), ...(f.options ? { enum: f.options } : {}) },
    ]),
  );
  const required = Object.entries(fields)
    .filter(([, f]) => f.required && f.default === undefined)
    .map(([name]) => name);
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

/**
 * Workspace actions offered to an agent run as tools (issue 8): a call runs the action as a
 * one-step job on a worker; the run gives up its lease and waits, and resumes once the job has
 * ended, when the replayed call finds the job (one per call: `<runId>:<seq>`) and answers its
 * output. A failed job is an error result the model can react to.
 */
export async function workflowActionTools(
  refs: readonly string[],
  deps: { tenantId: string; runId: string; workspaces: WorkspaceService; jobs: JobService; journal: RunJournal },
): Promise<Map<string, AgentTool>> {
  const tools = new Map<string, AgentTool>();
  for (const ref of refs) {
    const match = ACTION_REF.exec(ref);
    if (!match) throw new RunFailure('config_error', `Not a workspace action reference (action:<workspace>/<action>): ${ref}`);
    const [, workspaceName, actionName] = match as unknown as [string, string, string];
    const workspace = await deps.workspaces.find(deps.tenantId, workspaceName);
    const action = workspace && Object.hasOwn(workspace.definition.actions, actionName) ? workspace.definition.actions[actionName] : undefined;
    if (!action) throw new RunFailure('config_error', `The config offers ${ref}, which no workspace defines.`);
    const name = actionToolName(workspaceName, actionName);
    tools.set(ref, {
      name,
      description: action.description ?? `Runs the ${action.type} action ${actionName} of workspace ${workspaceName} on a worker and answers its output.`,
      inputSchema: inputSchemaOf(action.input),
      execute: async (input, context) => {
        const actor = { tenantId: deps.tenantId, name: `run:${deps.runId}`, scopes: new Set<string>() };
        let job;
        try {
          job = await deps.jobs.runAction(actor, workspaceName, actionName, input, { type: 'run', id: context.callId });
        } catch (err) {
          if (err instanceof InputError) throw new ToolInputError(err.message);
          if (err instanceof NotFoundError) throw new RunFailure('config_error', `${ref} is gone from its workspace.`);
          throw err;
        }
        if (!TERMINAL_JOB.has(job.status)) {
          await deps.journal.awaitJob({ type: 'job_started', detail: { jobId: job.id, tool: name, workspace: workspaceName, action: actionName } });
          throw new RunWaiting({ jobId: job.id });
        }
        if (job.status === 'completed') return (job.output as Record<string, unknown> | null)?.action ?? null;
        const [step] = await deps.jobs.steps(deps.tenantId, job.id);
        throw new ToolInputError(`The action ${actionName} ${job.status}: ${step?.errorMessage ?? job.errorMessage ?? 'no reason given'}`);
      },
    });
  }
  return tools;
}
