import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { connectionOf } from '../../graphql/connection';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { App, DiscoveredTool } from './app.entity';
import type { AppService, ProbeOutcome, RegisteredApp } from './app.service';
import type { AdvertisedTool } from './catalog';
import type { AppAuthInput } from './app-auth';

declare module '../../platform/services' {
  interface Services {
    apps: AppService;
  }
}

const read = { scope: 'agents:read' } as const;
const write = { scope: 'agents:write' } as const;
const upper = (value: string) => value.toUpperCase() as never;
const lower = (value: unknown) => String(value).toLowerCase() as never;

const AppStatusEnum = builder.enumType('AppStatus', { values: ['ACTIVE', 'UNHEALTHY', 'DISABLED'] as const });
const AppAuthTypeEnum = builder.enumType('AppAuthType', { values: ['BEARER', 'HEADER', 'NONE'] as const });

registerNodeLoader('App', (ctx, id) => ctx.services.apps.findById(principalOf(ctx).tenantId, id));

const DiscoveredToolRef = builder.objectRef<DiscoveredTool & { enabled: boolean }>('DiscoveredTool').implement({
  description: 'A tool the MCP server has advertised, remembered across probes.',
  fields: (t) => ({
    name: t.exposeString('name'),
    title: t.exposeString('title', { nullable: true }),
    description: t.exposeString('description', { nullable: true }),
    inputSchema: t.field({ type: 'JSON', resolve: (tool) => tool.inputSchema }),
    annotations: t.field({ type: 'JSON', nullable: true, resolve: (tool) => tool.annotations }),
    firstSeenAt: t.field({ type: 'DateTime', resolve: (tool) => new Date(tool.firstSeenAt) }),
    lastSeenAt: t.field({ type: 'DateTime', resolve: (tool) => new Date(tool.lastSeenAt) }),
    stale: t.exposeBoolean('stale', { description: 'No longer advertised by the server.' }),
    enabled: t.exposeBoolean('enabled', { description: 'Offered to agent runs.' }),
  }),
});

const LastProbeRef = builder.objectRef<App>('AppLastProbe').implement({
  fields: (t) => ({
    ok: t.boolean({ resolve: (a) => a.lastProbeOk ?? false }),
    error: t.exposeString('lastProbeError', { nullable: true }),
    latencyMs: t.int({ nullable: true, resolve: (a) => a.lastProbeLatencyMs ?? null }),
    probedAt: t.field({ type: 'DateTime', resolve: (a) => a.lastProbedAt! }),
  }),
});

export const AppRef = builder.node(builder.objectRef<App>('App'), {
  description: 'A tenant-registered MCP server whose enabled tools agent runs may call.',
  authScopes: read,
  id: { resolve: (a) => a.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    slug: t.exposeString('slug'),
    displayName: t.exposeString('displayName'),
    description: t.exposeString('description', { nullable: true }),
    mcpServerUrl: t.exposeString('mcpServerUrl'),
    authType: t.field({ type: AppAuthTypeEnum, resolve: (a) => upper(a.authType) }),
    authHeaderName: t.exposeString('authHeaderName', { nullable: true }),
    authHint: t.exposeString('authHint', { nullable: true, description: 'A redacted preview of the secret.' }),
    status: t.field({ type: AppStatusEnum, resolve: (a) => upper(a.status) }),
    failureStreak: t.exposeInt('failureStreak'),
    discoveredTools: t.field({
      type: [DiscoveredToolRef],
      resolve: (a) => a.discoveredTools.map((tool) => ({ ...tool, enabled: a.enabledTools.includes(tool.name) })),
    }),
    enabledTools: t.exposeStringList('enabledTools'),
    metadata: t.field({ type: 'JSON', resolve: (a) => a.metadata }),
    lastProbedAt: t.expose('lastProbedAt', { type: 'DateTime', nullable: true }),
    lastProbe: t.field({ type: LastProbeRef, nullable: true, resolve: (a) => (a.lastProbedAt ? a : null) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const AppToolRef = builder.objectRef<AdvertisedTool>('AppTool').implement({
  description: 'A tool as one probe saw it.',
  fields: (t) => ({
    name: t.exposeString('name'),
    title: t.string({ nullable: true, resolve: (tool) => tool.title ?? null }),
    description: t.string({ nullable: true, resolve: (tool) => tool.description ?? null }),
    inputSchema: t.field({ type: 'JSON', resolve: (tool) => tool.inputSchema }),
    annotations: t.field({ type: 'JSON', nullable: true, resolve: (tool) => tool.annotations ?? null }),
  }),
});

const AppProbeRef = builder.objectRef<ProbeOutcome>('AppProbe').implement({
  description: 'The outcome of one probe: initialize, then tools/list.',
  fields: (t) => ({
    ok: t.exposeBoolean('ok'),
    tools: t.field({ type: [AppToolRef], resolve: (p) => p.tools }),
    error: t.exposeString('error', { nullable: true }),
    reason: t.exposeString('reason', {
      nullable: true,
      description: 'unreachable, timeout, http_error, unauthorized, protocol_error, too_large, too_many_tools, cancelled or disabled',
    }),
    latencyMs: t.exposeInt('latencyMs'),
    probedAt: t.expose('probedAt', { type: 'DateTime' }),
  }),
});

const RegisterPayloadRef = builder.objectRef<RegisteredApp>('RegisterAppPayload').implement({
  fields: (t) => ({
    app: t.field({ type: AppRef, resolve: (r) => r.app }),
    probe: t.field({ type: AppProbeRef, resolve: (r) => r.probe }),
  }),
});

const AppAuthInputRef = builder.inputType('AppAuthInput', {
  description: 'BEARER needs token; HEADER needs name and value; NONE needs nothing.',
  fields: (t) => ({
    type: t.field({ type: AppAuthTypeEnum, required: true }),
    token: t.string(),
    name: t.string(),
    value: t.string(),
  }),
});

const RegisterAppInputRef = builder.inputType('RegisterAppInput', {
  fields: (t) => ({
    slug: t.string({ required: true }),
    displayName: t.string({ required: true }),
    description: t.string(),
    mcpServerUrl: t.string({ required: true }),
    auth: t.field({ type: AppAuthInputRef, required: true }),
    metadata: t.field({ type: 'JSON' }),
  }),
});

const UpdateAppInputRef = builder.inputType('UpdateAppInput', {
  description: 'Only the fields given change. slug and mcpServerUrl are immutable.',
  fields: (t) => ({
    displayName: t.string(),
    description: t.string(),
    enabledTools: t.stringList(),
    status: t.field({ type: AppStatusEnum, description: 'ACTIVE or DISABLED; UNHEALTHY is set by probes only.' }),
    metadata: t.field({ type: 'JSON' }),
  }),
});

function authFrom(input: { type: unknown; token?: string | null; name?: string | null; value?: string | null }): AppAuthInput {
  return {
    type: lower(input.type),
    token: input.token ?? undefined,
    name: input.name ?? undefined,
    value: input.value ?? undefined,
  } as AppAuthInput;
}

/** GraphQL null and absent both mean "leave it" for a PATCH-like input, except description (null clears). */
function definedOnly<T extends Record<string, unknown>>(input: T): Partial<T> {
  return Object.fromEntries(Object.entries(input).filter(([k, v]) => v !== undefined && (v !== null || k === 'description'))) as Partial<T>;
}

builder.queryFields((t) => ({
  apps: t.connection({
    type: AppRef,
    authScopes: read,
    description: 'The tenant’s apps, newest first.',
    resolve: async (_root, args, ctx) => connectionOf(await ctx.services.apps.list(principalOf(ctx).tenantId, args), args),
  }, { name: 'AppConnection' }, { name: 'AppEdge' }),
  app: t.field({
    type: AppRef,
    nullable: true,
    authScopes: read,
    args: { slug: t.arg.string({ required: true }) },
    resolve: async (_root, { slug }, ctx) => {
      try {
        return await ctx.services.apps.get(principalOf(ctx).tenantId, slug);
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },
  }),
}));

builder.mutationFields((t) => ({
  registerApp: t.field({
    type: RegisterPayloadRef,
    authScopes: write,
    description: 'Inserts the app and probes it; a failed probe still registers it, unhealthy.',
    args: { input: t.arg({ type: RegisterAppInputRef, required: true }) },
    errors: { types: [InputError, ConflictError], directResult: true, union: { name: 'RegisterAppResult' } },
    resolve: (_root, { input }, ctx) =>
      ctx.services.apps.register(actorOf(principalOf(ctx)), {
        slug: input.slug,
        displayName: input.displayName,
        description: input.description,
        mcpServerUrl: input.mcpServerUrl,
        auth: authFrom(input.auth),
        metadata: (input.metadata ?? undefined) as never,
      }),
  }),
  updateApp: t.field({
    type: AppRef,
    authScopes: write,
    args: { slug: t.arg.string({ required: true }), input: t.arg({ type: UpdateAppInputRef, required: true }) },
    errors: { types: [InputError, NotFoundError], directResult: true, union: { name: 'UpdateAppResult' } },
    resolve: (_root, { slug, input }, ctx) => {
      const patch = definedOnly({ ...input, status: input.status ? lower(input.status) : undefined });
      return ctx.services.apps.update(actorOf(principalOf(ctx)), slug, patch as never);
    },
  }),
  rotateAppAuth: t.field({
    type: AppRef,
    authScopes: write,
    description: 'Replaces the secret without probing; call probeApp afterwards.',
    args: { slug: t.arg.string({ required: true }), auth: t.arg({ type: AppAuthInputRef, required: true }) },
    errors: { types: [InputError, NotFoundError], directResult: true, union: { name: 'RotateAppAuthResult' } },
    resolve: (_root, { slug, auth }, ctx) => ctx.services.apps.rotateAuth(actorOf(principalOf(ctx)), slug, authFrom(auth)),
  }),
  probeApp: t.field({
    type: AppProbeRef,
    authScopes: write,
    description: 'Probes now and answers the outcome, whatever it is. An unknown slug is a NOT_FOUND error.',
    args: { slug: t.arg.string({ required: true }) },
    resolve: (_root, { slug }, ctx) => ctx.services.apps.probe(actorOf(principalOf(ctx)), slug),
  }),
  deleteApp: t.field({
    type: AppRef,
    authScopes: write,
    description: 'Hard delete; answers the app as it was.',
    args: { slug: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteAppResult' } },
    resolve: (_root, { slug }, ctx) => ctx.services.apps.delete(actorOf(principalOf(ctx)), slug),
  }),
}));
