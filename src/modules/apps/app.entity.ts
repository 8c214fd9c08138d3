import { defineEntity, type InferEntity } from '@mikro-orm/core';

export type AppStatus = 'active' | 'unhealthy' | 'disabled';
export type AppAuthType = 'bearer' | 'header' | 'none';

/** One tool an MCP server has advertised, as the catalog remembers it across probes. */
export type DiscoveredTool = {
  name: string;
  title: string | null;
  description: string | null;
  inputSchema: Record<string, unknown>;
  annotations: Record<string, unknown> | null;
  firstSeenAt: string;
  lastSeenAt: string;
  /** No longer advertised by the server; kept so the tenant sees what disappeared. */
  stale: boolean;
};

export const AppSchema = defineEntity({
  name: 'App',
  tableName: 'apps',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    slug: p.text(),
    displayName: p.text(),
    description: p.text().nullable(),
    mcpServerUrl: p.text(),
    authType: p.text().$type<AppAuthType>(),
    authHeaderName: p.text().nullable(),
    authCiphertext: p.blob().nullable().hidden(),
    authHint: p.text().nullable(),
    status: p.text().$type<AppStatus>(),
    failureStreak: p.integer(),
    discoveredTools: p.json<DiscoveredTool[]>(),
    enabledTools: p.array().columnType('text[]'),
    metadata: p.json<Record<string, unknown>>(),
    lastProbedAt: p.datetime().nullable(),
    lastProbeOk: p.boolean().nullable(),
    lastProbeError: p.text().nullable(),
    lastProbeLatencyMs: p.integer().nullable(),
    nextProbeAt: p.datetime(),
    probeLeaseUntil: p.datetime().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  }),
});

export type App = InferEntity<typeof AppSchema>;
