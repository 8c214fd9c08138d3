import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { inTenant, type SqlExecutor, type TenantEm, type TenantRead } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { afterFilter, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import type { SecretBox } from '../../platform/secret-box';
import { OutboundError } from '../../platform/outbound/safe-fetch';
import { McpError, type McpFailure } from '../../platform/mcp/mcp-client';
import type { McpConnector } from '../../platform/mcp/mcp-connector';
import { recordAudit, type AuditEntry } from '../audit/audit.service';
import { AppSchema, type App, type AppStatus, type DiscoveredTool } from './app.entity';
import { appAuthInput, joinAuth, splitAuth, type AppAuthInput } from './app-auth';
import { checkEnabledTools, mergeCatalog, type AdvertisedTool } from './catalog';
import { nextHealth } from './health';

const SLUG = /^[a-z][a-z0-9-]{0,62}$/;
const MAX_METADATA_BYTES = 16 * 1024;

const metadata = z
  .record(z.string(), z.unknown(), { message: 'metadata must be a JSON object' })
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata must be at most ${MAX_METADATA_BYTES} bytes of JSON`);
const displayName = z
  .string({ message: 'displayName is required' })
  .trim()
  .min(1, 'displayName must not be empty')
  .max(200, 'displayName must be at most 200 characters');
const description = z.string().trim().max(2000, 'description must be at most 2000 characters').nullish();

const registerInput = z.object({
  slug: z
    .string({ message: 'slug is required' })
    .regex(SLUG, 'slug must be lowercase letters, digits and dashes, start with a letter, and be at most 63 characters'),
  displayName,
  description,
  mcpServerUrl: z.string({ message: 'mcpServerUrl is required' }).max(2048, 'mcpServerUrl must be at most 2048 characters'),
  auth: appAuthInput,
  metadata: metadata.nullish(),
});
export type RegisterAppInput = z.input<typeof registerInput>;

const updateInput = z
  .object({
    displayName: displayName.optional(),
    description,
    enabledTools: z.array(z.string().max(256), { message: 'enabledTools must be a list of tool names' }).max(1000).optional(),
    status: z.enum(['active', 'disabled'], { message: 'status can be set to active or disabled' }).optional(),
    metadata: metadata.optional(),
  })
  .strict();
export type UpdateAppInput = z.input<typeof updateInput>;

/** What one probe saw; answered whatever happened. */
export type ProbeOutcome = {
  ok: boolean;
  tools: AdvertisedTool[];
  error: string | null;
  reason: McpFailure | 'disabled' | null;
  latencyMs: number;
  probedAt: Date;
};
export type RegisteredApp = { app: App; probe: ProbeOutcome };
export type RunnableApp = { slug: string; url: string; auth: AppAuthInput; tools: DiscoveredTool[] };

export type AppServiceDeps = {
  orm: Orm;
  secrets: SecretBox;
  mcp: McpConnector;
  /** Time between periodic probes of one app; each is spread by ±20 % so probes do not bunch up. */
  probeIntervalMs: number;
};

const authLocation = (app: App) => ({ tenantId: app.tenantId, table: 'apps', rowId: app.id, column: 'auth_ciphertext' });

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || undefined;
    const message = issue.code === 'unrecognized_keys' ? `Unknown field: ${issue.keys.join(', ')}` : issue.message;
    throw new InputError(message, field);
  }
  return parsed.data;
}

export function jittered(intervalMs: number, random = Math.random): number {
  return Math.round(intervalMs * (0.8 + 0.4 * random()));
}

export class AppService {
  constructor(private readonly deps: AppServiceDeps) {}

  /**
   * Inserts the app, then probes it. The row stays whatever the probe says (seed 002): a failed
   * first probe marks it unhealthy and the outcome rides back to the caller.
   */
  async register(actor: Actor, input: RegisterAppInput): Promise<RegisteredApp> {
    const data = parse(registerInput, input);
    const url = await this.checkUrl(data.mcpServerUrl);
    const auth = splitAuth(data.auth as AppAuthInput);
    const app = await inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const row = em.create(AppSchema, {
        tenantId: actor.tenantId,
        id: randomUUID(),
        slug: data.slug,
        displayName: data.displayName,
        description: data.description ?? null,
        mcpServerUrl: url,
        authType: auth.type,
        authHeaderName: auth.headerName,
        authHint: auth.hint,
        status: 'active',
        failureStreak: 0,
        discoveredTools: [],
        enabledTools: [],
        metadata: data.metadata ?? {},
        nextProbeAt: new Date(Date.now() + jittered(this.deps.probeIntervalMs)),
      } as unknown as App);
      if (auth.secret !== null) row.authCiphertext = await this.deps.secrets.encrypt(em, authLocation(row), auth.secret);
      em.persist(row);
      this.audit(em, actor, 'app.register', row, { url, authType: auth.type, authHint: auth.hint });
      await em.flush();
      return row;
    });
    const probe = await this.runProbe(app, data.auth as AppAuthInput);
    const updated = await this.recordProbe(actor, app.id, probe, { firstProbe: true });
    return { app: updated ?? app, probe };
  }

  async list(tenantId: string, args: PageArgs): Promise<Page<App>> {
    const size = pageSize(args.first);
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(AppSchema, afterFilter(args.after), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }

  async get(tenantId: string, slug: string): Promise<App> {
    const app = await inTenant(this.deps.orm, tenantId, (em) => em.findOne(AppSchema, { slug }));
    if (!app) throw new NotFoundError('App');
    return app;
  }

  async findById(tenantId: string, id: string): Promise<App | null> {
    if (!isUuid(id)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(AppSchema, { id }));
  }

  /** Partial update: omitted fields keep their value. slug and mcpServerUrl are immutable. */
  async update(actor: Actor, slug: string, input: UpdateAppInput): Promise<App> {
    for (const field of ['slug', 'mcpServerUrl'] as const) {
      if (input && typeof input === 'object' && field in input) {
        throw new InputError(`${field} is immutable; delete the app and register it again.`, field);
      }
    }
    const data = parse(updateInput, input);
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const app = await this.locked(em, slug);
      if (data.displayName !== undefined) app.displayName = data.displayName;
      if (data.description !== undefined) app.description = data.description ?? null;
      if (data.metadata !== undefined) app.metadata = data.metadata;
      if (data.enabledTools !== undefined) {
        const check = checkEnabledTools(app.discoveredTools, data.enabledTools);
        if (!check.ok) {
          throw new InputError(
            check.why === 'stale'
              ? `Tool "${check.tool}" is no longer advertised by the server and cannot be enabled.`
              : `Tool "${check.tool}" is not in the app's discovered tools; probe the app first.`,
            'enabledTools',
          );
        }
        app.enabledTools = check.enabledTools;
      }
      if (data.status !== undefined && data.status !== app.status) {
        if (data.status === 'disabled') {
          app.status = 'disabled';
        } else if (app.status === 'disabled') {
          // Re-enabled: health is unknown again, so start clean and probe soon.
          Object.assign(app, { status: 'active', failureStreak: 0, nextProbeAt: new Date() });
        }
      }
      this.audit(em, actor, 'app.update', app, { fields: Object.keys(data), status: app.status, enabledTools: app.enabledTools });
      await em.flush();
      return app;
    });
  }

  /** Replaces the secret without probing (seed 002); call probe afterwards. */
  async rotateAuth(actor: Actor, slug: string, input: AppAuthInput): Promise<App> {
    const auth = splitAuth(parse(appAuthInput, input) as AppAuthInput);
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const app = await this.locked(em, slug);
      Object.assign(app, {
        authType: auth.type,
        authHeaderName: auth.headerName,
        authHint: auth.hint,
        authCiphertext: auth.secret === null ? null : await this.deps.secrets.encrypt(em, authLocation(app), auth.secret),
      });
      this.audit(em, actor, 'app.rotate_auth', app, { authType: auth.type, authHint: auth.hint });
      await em.flush();
      return app;
    });
  }

  async delete(actor: Actor, slug: string): Promise<App> {
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const app = await this.locked(em, slug);
      em.remove(app);
      this.audit(em, actor, 'app.delete', app, { url: app.mcpServerUrl });
      await em.flush();
      return app;
    });
  }

  /** On-demand probe: always answers the outcome for an existing app; disabled apps are not called. */
  async probe(actor: Actor, slug: string): Promise<ProbeOutcome> {
    const { app, auth } = await this.withAuth(actor.tenantId, { slug });
    if (app.status === 'disabled') {
      return {
        ok: false,
        tools: [],
        error: 'The app is disabled; probes skip disabled apps.',
        reason: 'disabled',
        latencyMs: 0,
        probedAt: new Date(),
      };
    }
    const outcome = await this.runProbe(app, auth);
    await this.recordProbe(actor, app.id, outcome);
    return outcome;
  }

  /**
   * The periodic prober's unit of work for an app it has leased. Skips apps that were disabled or
   * deleted since the claim, and always gives the lease back.
   */
  async probeLeased(tenantId: string, appId: string): Promise<ProbeOutcome | null> {
    const system: Actor = { tenantId, name: 'system:app-prober', scopes: new Set() };
    let loaded: { app: App; auth: AppAuthInput };
    try {
      loaded = await this.withAuth(tenantId, { id: appId });
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
    if (loaded.app.status === 'disabled') {
      await this.releaseLease(tenantId, appId);
      return null;
    }
    const outcome = await this.runProbe(loaded.app, loaded.auth);
    await this.recordProbe(system, appId, outcome, { periodic: true });
    return outcome;
  }

  /**
   * For the worker boundary only, read when a run starts: the tenant's healthy (active) apps with
   * their enabled, advertised tools and decrypted credentials. A data key not yet cached in this
   * process is read through `keys`.
   */
  runnableAppsRead(tenantId: string, keys: SqlExecutor): TenantRead<RunnableApp[]> {
    return {
      sql: `select id, slug, mcp_server_url, auth_type, auth_header_name, auth_ciphertext, discovered_tools, enabled_tools
              from apps where status = 'active' and cardinality(enabled_tools) > 0 order by slug`,
      params: [],
      decode: async (rows) => {
        const runnable: RunnableApp[] = [];
        for (const row of rows) {
          const enabled = new Set<string>(row.enabled_tools);
          const tools = (row.discovered_tools as DiscoveredTool[]).filter((t) => !t.stale && enabled.has(t.name));
          if (tools.length === 0) continue;
          const secret = row.auth_ciphertext
            ? await this.deps.secrets.decrypt(keys, authLocation({ tenantId, id: row.id } as App), Buffer.from(row.auth_ciphertext))
            : null;
          runnable.push({ slug: row.slug, url: row.mcp_server_url, auth: joinAuth(row.auth_type, row.auth_header_name ?? null, secret), tools });
        }
        return runnable;
      },
    };
  }


  private async releaseLease(tenantId: string, appId: string): Promise<void> {
    await inTenant(this.deps.orm, tenantId, (em) =>
      em.nativeUpdate(AppSchema, { id: appId }, { probeLeaseUntil: null }),
    );
  }

  private async withAuth(tenantId: string, where: { slug: string } | { id: string }): Promise<{ app: App; auth: AppAuthInput }> {
    return inTenant(this.deps.orm, tenantId, async (em) => {
      const app = await em.findOne(AppSchema, where);
      if (!app) throw new NotFoundError('App');
      const secret = app.authCiphertext
        ? await this.deps.secrets.decrypt(em, authLocation(app), Buffer.from(app.authCiphertext))
        : null;
      return { app, auth: joinAuth(app.authType, app.authHeaderName ?? null, secret) };
    });
  }

  /** Calls the server outside any transaction: no connection is held while a tenant's server answers. */
  private async runProbe(app: App, auth: AppAuthInput): Promise<ProbeOutcome> {
    const started = performance.now();
    const probedAt = new Date();
    try {
      const tools = await this.deps.mcp.listTools(app.mcpServerUrl, auth);
      return { ok: true, tools, error: null, reason: null, latencyMs: Math.round(performance.now() - started), probedAt };
    } catch (err) {
      const failure = err instanceof McpError ? err : undefined;
      return {
        ok: false,
        tools: [],
        error: failure?.message ?? (err instanceof OutboundError ? err.message : 'The probe failed unexpectedly.'),
        reason: failure?.reason ?? (err instanceof OutboundError ? 'unreachable' : 'protocol_error'),
        latencyMs: Math.round(performance.now() - started),
        probedAt,
      };
    }
  }

  /** Applies a probe to health and catalog under the row lock; the app may have gone meanwhile. */
  private async recordProbe(
    actor: Actor,
    appId: string,
    outcome: ProbeOutcome,
    options: { firstProbe?: boolean; periodic?: boolean } = {},
  ): Promise<App | null> {
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const app = await em.findOne(AppSchema, { id: appId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!app) return null;
      const before: AppStatus = app.status;
      Object.assign(app, nextHealth(app, outcome.ok, { firstProbe: options.firstProbe }));
      if (outcome.ok) Object.assign(app, mergeCatalog(app.discoveredTools, app.enabledTools, outcome.tools, outcome.probedAt));
      Object.assign(app, {
        lastProbedAt: outcome.probedAt,
        lastProbeOk: outcome.ok,
        lastProbeError: outcome.error,
        lastProbeLatencyMs: outcome.latencyMs,
        nextProbeAt: new Date(Date.now() + jittered(this.deps.probeIntervalMs)),
        probeLeaseUntil: options.periodic ? null : app.probeLeaseUntil,
      });
      // Periodic probes are audited only when they change the app's health; asked-for ones always.
      if (!options.periodic || before !== app.status) {
        this.audit(em, actor, 'app.probe', app, {
          ok: outcome.ok,
          reason: outcome.reason,
          error: outcome.error,
          tools: outcome.tools.length,
          latencyMs: outcome.latencyMs,
          statusBefore: before,
          status: app.status,
        });
      }
      await em.flush();
      return app;
    });
  }

  private async locked(em: TenantEm, slug: string): Promise<App> {
    const app = await em.findOne(AppSchema, { slug }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!app) throw new NotFoundError('App');
    return app;
  }

  private async checkUrl(raw: string): Promise<string> {
    try {
      await this.deps.mcp.checkUrl(raw);
    } catch (err) {
      if (err instanceof OutboundError) throw new InputError(`mcpServerUrl refused: ${err.message}`, 'mcpServerUrl');
      throw err;
    }
    return new URL(raw).toString();
  }

  private audit(em: TenantEm, actor: Actor, action: string, app: App, detail: AuditEntry['detail']): void {
    recordAudit(em, actor, { action, targetType: 'app', targetId: app.slug, detail });
  }
}
