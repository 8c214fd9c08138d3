import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { entityId } from '../../graphql/ids';
import { NotFoundError } from '../../db/errors';
import type { RestWorker, WorkerRegistry } from './worker-registry';

declare module '../../platform/services' {
  interface Services {
    workers: WorkerRegistry;
  }
}

const WorkerStatusEnum = builder.enumType('WorkerStatus', { values: ['ACTIVE', 'INACTIVE'] as const });

registerNodeLoader('Worker', (ctx, id) => ctx.services.workers.find(principalOf(ctx).tenantId, id));

const WorkerRef = builder.node(builder.objectRef<RestWorker>('Worker'), {
  description: 'An external worker speaking the REST worker protocol (/worker/*).',
  authScopes: { scope: 'workflows:read' },
  id: { resolve: (w) => w.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    name: t.exposeString('name'),
    tags: t.exposeStringList('tags'),
    version: t.exposeString('version', { nullable: true }),
    status: t.field({ type: WorkerStatusEnum, resolve: (w) => w.status.toUpperCase() as never }),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime' }),
    registeredAt: t.expose('registeredAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  workers: t.field({
    type: [WorkerRef],
    authScopes: { scope: 'workflows:read' },
    description: 'Active workers first, then by last heartbeat.',
    resolve: (_r, _a, ctx) => ctx.services.workers.list(principalOf(ctx).tenantId),
  }),
}));

builder.mutationFields((t) => ({
  deleteWorker: t.field({
    type: WorkerRef,
    authScopes: { scope: 'workflows:write' },
    description: 'Forgets a worker (a still-running one must register again); answers it as it was.',
    args: { id: t.arg.id({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteWorkerResult' } },
    resolve: (_r, { id }, ctx) => ctx.services.workers.delete(principalOf(ctx).tenantId, entityId(String(id), 'Worker')),
  }),
}));
