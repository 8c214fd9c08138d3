import { actorOf } from '../../platform/auth';
import type { Route } from '../../platform/rest';
import type { IntegrationKey } from './integration-key.entity';

/** Seed 002's IntegrationKey summary: never the key, only its last four characters. */
export function integrationKeyJson(k: IntegrationKey) {
  return {
    id: k.id,
    provider: k.provider,
    status: k.status,
    label: k.label ?? null,
    key_hint: k.keyHint,
    metadata: k.metadata,
    last_verified_at: k.lastVerifiedAt?.toISOString() ?? null,
    created_at: k.createdAt.toISOString(),
  };
}

export const keyRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/integration-keys',
    scope: 'agents:write',
    handler: async ({ principal, body, services }) => {
      const b = (body ?? {}) as Record<string, unknown>;
      const stored = await services.integrationKeys.store(actorOf(principal!), {
        provider: b.provider as never,
        key: b.key as string,
        label: b.label as string | undefined,
        metadata: b.metadata,
      });
      return { status: stored.replaced ? 200 : 201, body: integrationKeyJson(stored.integrationKey) };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/integration-keys',
    scope: 'agents:read',
    handler: async ({ principal, services }) => ({
      status: 200,
      body: (await services.integrationKeys.list(principal!.tenantId)).map(integrationKeyJson),
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/integration-keys/{provider}',
    scope: 'agents:read',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: integrationKeyJson(await services.integrationKeys.get(principal!.tenantId, params.provider!)),
    }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/integration-keys/{provider}',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: integrationKeyJson(await services.integrationKeys.revoke(actorOf(principal!), params.provider!)),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/integration-keys/{provider}/verify',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => {
      const result = await services.integrationKeys.verify(actorOf(principal!), params.provider!);
      return {
        status: 200,
        body: {
          valid: result.valid,
          last_verified_at: result.lastVerifiedAt?.toISOString() ?? null,
          ...(result.reason ? { reason: result.reason } : {}),
        },
      };
    },
  },
];
