import { actorOf } from '../../platform/auth';
import { listEnvelope, pageArgsFromQuery, type Route } from '../../platform/rest';
import type { App } from './app.entity';
import type { ProbeOutcome } from './app.service';

/** Seed 002's App record: never the secret, only `auth_hint`. */
export function appJson(a: App) {
  return {
    id: a.id,
    slug: a.slug,
    display_name: a.displayName,
    description: a.description ?? null,
    mcp_server_url: a.mcpServerUrl,
    auth_type: a.authType,
    auth_header_name: a.authHeaderName ?? null,
    auth_hint: a.authHint ?? null,
    status: a.status,
    failure_streak: a.failureStreak,
    discovered_tools: a.discoveredTools.map((t) => ({
      name: t.name,
      title: t.title,
      description: t.description,
      input_schema: t.inputSchema,
      annotations: t.annotations,
      first_seen_at: t.firstSeenAt,
      last_seen_at: t.lastSeenAt,
      stale: t.stale,
    })),
    enabled_tools: a.enabledTools,
    metadata: a.metadata,
    last_probed_at: a.lastProbedAt?.toISOString() ?? null,
    last_probe_error: a.lastProbeError ?? null,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}

export function probeJson(p: ProbeOutcome) {
  return {
    ok: p.ok,
    tools: p.tools.map((t) => ({
      name: t.name,
      title: t.title ?? null,
      description: t.description ?? null,
      input_schema: t.inputSchema,
      annotations: t.annotations ?? null,
    })),
    error: p.error,
    reason: p.reason,
    latency_ms: p.latencyMs,
    probed_at: p.probedAt.toISOString(),
  };
}

type Body = Record<string, unknown>;
const bodyOf = (body: unknown): Body => (body && typeof body === 'object' && !Array.isArray(body) ? (body as Body) : {});

/** The seed's snake_case auth shape; the service validates it. */
function authOf(raw: unknown) {
  const a = bodyOf(raw);
  return { type: a.type, token: a.token, name: a.name, value: a.value } as never;
}

// snake_case → the service's names; unknown fields are passed through so the service refuses them.
const patchFields: Record<string, string> = {
  display_name: 'displayName',
  description: 'description',
  enabled_tools: 'enabledTools',
  status: 'status',
  metadata: 'metadata',
  mcp_server_url: 'mcpServerUrl',
};

export const appRoutes: Route[] = [
  {
    method: 'POST',
    path: '/api/v1/apps',
    scope: 'agents:write',
    handler: async ({ principal, body, services }) => {
      const b = bodyOf(body);
      const { app, probe } = await services.apps.register(actorOf(principal!), {
        slug: b.slug as string,
        displayName: b.display_name as string,
        description: b.description as string | undefined,
        mcpServerUrl: b.mcp_server_url as string,
        auth: authOf(b.auth),
        metadata: b.metadata as never,
      });
      return { status: 201, body: { ...appJson(app), probe: probeJson(probe) } };
    },
  },
  {
    method: 'GET',
    path: '/api/v1/apps',
    scope: 'agents:read',
    handler: async ({ principal, query, services }) => ({
      status: 200,
      body: listEnvelope(await services.apps.list(principal!.tenantId, pageArgsFromQuery(query)), appJson),
    }),
  },
  {
    method: 'GET',
    path: '/api/v1/apps/{slug}',
    scope: 'agents:read',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: appJson(await services.apps.get(principal!.tenantId, params.slug!)),
    }),
  },
  {
    method: 'PATCH',
    path: '/api/v1/apps/{slug}',
    scope: 'agents:write',
    handler: async ({ principal, params, body, services }) => {
      const patch = Object.fromEntries(Object.entries(bodyOf(body)).map(([k, v]) => [patchFields[k] ?? k, v]));
      return { status: 200, body: appJson(await services.apps.update(actorOf(principal!), params.slug!, patch)) };
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/apps/{slug}',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: appJson(await services.apps.delete(actorOf(principal!), params.slug!)),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/apps/{slug}/auth/rotate',
    scope: 'agents:write',
    handler: async ({ principal, params, body, services }) => ({
      status: 200,
      body: appJson(await services.apps.rotateAuth(actorOf(principal!), params.slug!, authOf(bodyOf(body).auth ?? body))),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/apps/{slug}/probe',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: probeJson(await services.apps.probe(actorOf(principal!), params.slug!)),
    }),
  },
];
