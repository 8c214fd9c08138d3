import { NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { Route } from '../../platform/rest';
import type { ClaimedJob, ClaimedStep } from './worker-protocol.service';

/** Seed 001's claim answer when there is no work: every field null. */
export const NO_WORK = {
  workspace: null,
  job_id: null,
  task_name: null,
  step_name: null,
  action_name: null,
  action_type: null,
  action_image: null,
  action_spec: null,
  input: null,
  runner: null,
};

function claimJson(claimed: ClaimedStep | ClaimedJob) {
  if (claimed.kind === 'step') {
    const { job, step } = claimed;
    return {
      workspace: job.workspace,
      job_id: job.id,
      task_name: job.taskName,
      step_name: step.name,
      action_name: step.actionName,
      action_type: step.actionType,
      action_image: step.actionImage,
      runner: step.runner,
      action_spec: claimed.actionSpec,
      input: claimed.input,
      ...(step.timeoutSeconds !== null ? { timeout_secs: step.timeoutSeconds } : {}),
      revision: job.revision,
      mode: 'distributed',
    };
  }
  const { job, steps } = claimed;
  return {
    ...NO_WORK,
    workspace: job.workspace,
    job_id: job.id,
    task_name: job.taskName,
    input: job.input,
    ...(job.timeoutSeconds !== null ? { timeout_secs: job.timeoutSeconds } : {}),
    revision: job.revision,
    mode: 'local',
    steps: steps.map((s) => ({
      step_name: s.name,
      action_name: s.actionName,
      action_type: s.actionType,
      action_image: s.actionImage,
      runner: s.runner,
      action_spec: s.actionSpec,
      input: s.inputTemplate,
      depends_on: s.dependsOn,
      continue_on_failure: s.continueOnFailure,
      when: s.when,
      timeout_secs: s.timeoutSeconds,
    })),
  };
}

type Body = Record<string, unknown>;
const bodyOf = (body: unknown): Body => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : {});
const OK = { status: 200, body: { status: 'ok' } };
const SCOPE = 'worker:execute';

/** An entity tag as sent in If-None-Match: quotes and a weak prefix dropped; `*` matches anything. */
function etagsOf(header: string | string[] | undefined): string[] {
  const raw = Array.isArray(header) ? header.join(',') : (header ?? '');
  return raw
    .split(',')
    .map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''))
    .filter(Boolean);
}

/**
 * Seed 001's worker protocol (`/worker/*`), every endpoint, plus `GET /worker/jobs/{id}/cancelled`.
 * Authenticated by an account token with worker:execute; its tenant is the worker's world.
 */
export const workerProtocolRoutes: Route[] = [
  {
    method: 'POST',
    path: '/worker/register',
    scope: SCOPE,
    handler: async ({ principal, body, services }) => {
      const worker = await services.workers.register(actorOf(principal!), bodyOf(body));
      return { status: 200, body: { worker_id: worker.id } };
    },
  },
  {
    method: 'POST',
    path: '/worker/heartbeat',
    scope: SCOPE,
    handler: async ({ principal, body, services }) => {
      await services.workers.heartbeat(principal!.tenantId, bodyOf(body).worker_id);
      return OK;
    },
  },
  {
    method: 'POST',
    path: '/worker/jobs/claim',
    scope: SCOPE,
    handler: async ({ principal, body, services }) => {
      const claimed = await services.workerProtocol.claim(principal!.tenantId, bodyOf(body));
      return { status: 200, body: claimed ? claimJson(claimed) : NO_WORK };
    },
  },
  {
    method: 'POST',
    path: '/worker/jobs/{id}/steps/{step}/start',
    scope: SCOPE,
    handler: async ({ principal, params, body, services }) => {
      await services.workerProtocol.startStep(principal!.tenantId, params.id!, params.step!, bodyOf(body));
      return OK;
    },
  },
  {
    method: 'POST',
    path: '/worker/jobs/{id}/steps/{step}/complete',
    scope: SCOPE,
    handler: async ({ principal, params, body, services }) => {
      await services.workerProtocol.completeStep(principal!.tenantId, params.id!, params.step!, bodyOf(body));
      return OK;
    },
  },
  {
    method: 'POST',
    path: '/worker/jobs/{id}/logs',
    scope: SCOPE,
    handler: async ({ principal, params, body, services }) => {
      await services.workerProtocol.appendLogs(principal!.tenantId, params.id!, bodyOf(body));
      return OK;
    },
  },
  {
    method: 'GET',
    path: '/worker/jobs/{id}/cancelled',
    scope: SCOPE,
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: { cancelled: await services.workerProtocol.isCancelled(principal!.tenantId, params.id!) },
    }),
  },
  {
    method: 'POST',
    path: '/worker/jobs/{id}/complete',
    scope: SCOPE,
    handler: async ({ principal, params, body, services }) => {
      await services.workerProtocol.completeJob(principal!.tenantId, params.id!, bodyOf(body));
      return OK;
    },
  },
  {
    method: 'GET',
    path: '/worker/workspace/{file}',
    scope: SCOPE,
    handler: async ({ principal, params, query, headers, services }) => {
      const file = params.file!;
      if (!file.endsWith('.tar.gz')) throw new NotFoundError('Workspace');
      const name = file.slice(0, -'.tar.gz'.length);
      const asked = query.get('revision');
      const revision = asked ?? (await services.workspaces.currentRevision(principal!.tenantId, name));
      if (!revision) throw new NotFoundError('Workspace');
      const tags = etagsOf(headers['if-none-match']);
      const cacheHeaders = { etag: `"${revision}"`, 'x-revision': revision };
      if (tags.includes(revision) || tags.includes('*')) return { status: 304, headers: cacheHeaders, raw: Buffer.alloc(0) };
      const { archive } = await services.workspaces.archive(principal!.tenantId, name, revision);
      return { status: 200, headers: { ...cacheHeaders, 'content-type': 'application/gzip' }, raw: archive };
    },
  },
];
