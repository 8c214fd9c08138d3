import { NotFoundError } from '../../db/errors';
import type { Route } from '../../platform/rest';
import type { RestWorker } from './worker-registry';

/** Strøm's worker record (`GET /api/workers`). */
function workerJson(w: RestWorker) {
  return {
    worker_id: w.id,
    name: w.name,
    tags: w.tags,
    version: w.version,
    status: w.status,
    last_heartbeat: w.lastHeartbeatAt.toISOString(),
    registered_at: w.registeredAt.toISOString(),
  };
}

export const workerRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/workers',
    scope: 'workflows:read',
    handler: async ({ principal, services }) => ({ status: 200, body: (await services.workers.list(principal!.tenantId)).map(workerJson) }),
  },
  {
    method: 'GET',
    path: '/api/workers/{id}',
    scope: 'workflows:read',
    handler: async ({ principal, params, services }) => {
      const worker = await services.workers.find(principal!.tenantId, params.id!);
      if (!worker) throw new NotFoundError('Worker');
      return { status: 200, body: workerJson(worker) };
    },
  },
];
