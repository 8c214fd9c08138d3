import { actorOf } from '../../platform/auth';
import { pageArgsFromQuery, type Route } from '../../platform/rest';
import type { LogLine } from '../logs/log-lines';
import type { Job, JobStep } from './job';
import type { Workspace } from './workspace.service';

/** Strøm's job record (seed 001's public API). */
export function jobJson(j: Job) {
  return {
    job_id: j.id,
    workspace: j.workspace,
    task_name: j.taskName,
    mode: j.mode,
    status: j.status,
    input: j.input,
    output: j.output ?? null,
    error_message: j.errorMessage,
    source_type: j.sourceType,
    source_id: j.sourceId,
    revision: j.revision,
    created_at: j.createdAt.toISOString(),
    started_at: j.startedAt?.toISOString() ?? null,
    completed_at: j.completedAt?.toISOString() ?? null,
  };
}

export function jobStepJson(s: JobStep) {
  return {
    step_name: s.name,
    action_name: s.actionName,
    action_type: s.actionType,
    runner: s.runner,
    input: s.input,
    output: s.output ?? null,
    status: s.status,
    worker_id: s.workerId,
    run_id: s.runId,
    depends_on: s.dependsOn,
    started_at: s.startedAt?.toISOString() ?? null,
    completed_at: s.completedAt?.toISOString() ?? null,
    error_message: s.errorMessage,
  };
}

/** One JSONL entry of a job's log: Strøm's `{ts, stream, step, line}` plus the cursor to resume after it. */
export function jobLogLineJson(l: LogLine) {
  return { ts: l.ts.toISOString(), stream: l.stream, step: l.step, line: l.line, cursor: String(l.seq) };
}

function workspaceJson(w: Workspace) {
  return {
    name: w.name,
    revision: w.revision,
    tasks_count: Object.keys(w.definition.tasks).length,
    actions_count: Object.keys(w.definition.actions).filter((a) => !a.startsWith('_inline:')).length,
    updated_at: w.updatedAt.toISOString(),
  };
}

type Body = Record<string, unknown>;
const bodyOf = (body: unknown): Body => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : {});

/** Strøm's public job API (`/api/…`), for clients written against it. */
export const jobRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/workspaces',
    scope: 'workflows:read',
    handler: async ({ principal, services }) => ({ status: 200, body: (await services.workspaces.list(principal!.tenantId)).map(workspaceJson) }),
  },
  {
    method: 'GET',
    path: '/api/workspaces/{ws}/tasks',
    scope: 'workflows:read',
    handler: async ({ principal, params, services }) => {
      const workspace = await services.workspaces.get(principal!.tenantId, params.ws!);
      const tasks = Object.values(workspace.definition.tasks).map((t) => ({
        name: t.name,
        description: t.description ?? null,
        mode: t.mode,
        folder: t.folder ?? null,
        input: t.input,
        steps: t.flow.map((s) => ({ name: s.name, action: s.action, depends_on: s.dependsOn })),
      }));
      return { status: 200, body: tasks };
    },
  },
  {
    method: 'POST',
    path: '/api/workspaces/{ws}/tasks/{task}/execute',
    scope: 'workflows:write',
    handler: async ({ principal, params, body, services }) => {
      const job = await services.jobs.execute(actorOf(principal!), params.ws!, params.task!, bodyOf(body).input);
      return { status: 200, body: { job_id: job.id } };
    },
  },
  {
    method: 'GET',
    path: '/api/jobs',
    scope: 'workflows:read',
    handler: async ({ principal, query, services }) => {
      const page = await services.jobs.list(principal!.tenantId, {
        ...pageArgsFromQuery(query),
        workspace: query.get('workspace'),
        taskName: query.get('task_name'),
        status: query.get('status') as never,
      });
      return { status: 200, body: { items: page.nodes.map(jobJson), has_more: page.hasNextPage, next_cursor: page.hasNextPage ? page.endCursor : null } };
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/{id}',
    scope: 'workflows:read',
    handler: async ({ principal, params, services }) => {
      const job = await services.jobs.get(principal!.tenantId, params.id!);
      const steps = await services.jobs.steps(principal!.tenantId, job.id);
      return { status: 200, body: { ...jobJson(job), steps: steps.map(jobStepJson) } };
    },
  },
  {
    method: 'POST',
    path: '/api/jobs/{id}/cancel',
    scope: 'workflows:write',
    handler: async ({ principal, params, services }) => {
      const job = await services.jobs.cancel(actorOf(principal!), params.id!);
      return { status: 200, body: { status: job.status } };
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/{id}/logs',
    scope: 'workflows:read',
    handler: async ({ principal, params, query, services }) => {
      const job = await services.jobs.get(principal!.tenantId, params.id!);
      const step = query.get('step');
      return { status: 200, body: { logs: await jobLogText(services, principal!.tenantId, job.id, step) } };
    },
  },
  {
    method: 'GET',
    path: '/api/jobs/{id}/steps/{step}/logs',
    scope: 'workflows:read',
    handler: async ({ principal, params, services }) => {
      const job = await services.jobs.get(principal!.tenantId, params.id!);
      return { status: 200, body: { logs: await jobLogText(services, principal!.tenantId, job.id, params.step!) } };
    },
  },
];

type RouteServices = Parameters<Route['handler']>[0]['services'];

/** The whole log (or one step's) as JSONL text: Strøm's `{"logs": "…"}`. */
async function jobLogText(services: RouteServices, tenantId: string, jobId: string, step: string | null): Promise<string> {
  const log = await services.logs.snapshot(tenantId, 'job', jobId, {});
  let text = '';
  for await (const page of log.pages) {
    for (const line of page) if (step === null || line.step === step) text += `${JSON.stringify(jobLogLineJson(line))}\n`;
  }
  return text;
}
