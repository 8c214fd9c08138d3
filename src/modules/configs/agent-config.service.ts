import type { GuardrailRule } from '../guardrails/rules';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { executeRead, inTenant, inTenantSql, type SqlExecutor, type TenantEm, type TenantRead } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import { secretHint } from '../../platform/crypto';
import type { SecretBox } from '../../platform/secret-box';
import { recordAudit } from '../audit/audit.service';
import { guardrailRules } from '../guardrails/rules';
import { AgentConfigSchema, type AgentConfig, type ByokStatus } from './agent-config.entity';
import { findBlueprint, type Blueprint } from './blueprints';
import { cronProblem, nextFireTime } from './cron';
import type { KeyProbeResult } from './key-probe';

const toolName = z
  .string()
  .min(1)
  .max(200)
  // Built-in tool names, or `action:<workspace>/<action>` for a workspace action.
  .regex(/^[A-Za-z0-9_.:-]+$|^action:[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'tool names use letters, digits and _ . : - (or action:<workspace>/<action>)');

/** Full replace: every field omitted becomes null, lists become []. */
const configInput = z.object({
  systemPrompt: z.string().max(100_000).nullish(),
  model: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,99}$/, 'a model id such as claude-sonnet-4-6')
    .nullish(),
  tools: z.array(toolName).max(200).nullish(),
  budgetDefaultCents: z.number().int().min(1).max(100_000_000).nullish(),
  deadlineDefaultSeconds: z.number().int().min(1).max(7 * 86_400).nullish(),
  guardrails: guardrailRules.nullish(),
  schedule: z
    .string()
    .max(200)
    .nullish()
    .superRefine((value, ctx) => {
      const problem = value ? cronProblem(value) : null;
      if (problem) ctx.addIssue({ code: 'custom', message: `schedule: ${problem}` });
    }),
});
export type AgentConfigInput = z.input<typeof configInput>;

/** The probe answer for an invalid key, raised by setByokKey; the row is left untouched. */
export class KeyProbeError extends Error {
  readonly code = 'KEY_INVALID';
  constructor(readonly probe: Extract<KeyProbeResult, { valid: false }>) {
    super(probe.message);
    this.name = 'KeyProbeError';
  }
}

export type KeyProber = (apiKey: string) => Promise<KeyProbeResult>;

function fieldError(error: z.ZodError): InputError {
  const issue = error.issues[0]!;
  return new InputError(issue.message, issue.path.join('.') || undefined);
}

const byokLocation = (config: AgentConfig) => ({
  tenantId: config.tenantId,
  table: 'agent_configs',
  rowId: config.id,
  column: 'byok_key_ciphertext',
});

/** A schedule's first fire time after now, on the tenant's wall clock (tenants.timezone). */
async function firstFireAfterNow(em: TenantEm, tenantId: string, schedule: string): Promise<Date | null> {
  const [tenant] = await em.execute<{ timezone: string }[]>('select timezone from tenants where id = ?', [tenantId]);
  return nextFireTime(schedule, new Date(), tenant?.timezone ?? 'UTC');
}

/** What a worker needs of a config to run it. */
export type RunConfig = {
  id: string;
  /** Changes with every write of the config: compiled guardrails are cached by (id, version). */
  version: number;
  model: string | null;
  systemPrompt: string | null;
  tools: string[];
  guardrails: GuardrailRule[];
  byokStatus: ByokStatus;
  /** The tenant's time zone, for quiet hours without their own. */
  tenantTimezone: string;
};

/** What a worker needs of a run's config to start it. */
export type RunStart = { config: RunConfig | null; apiKey: string | null };

export class AgentConfigService {
  constructor(private readonly deps: { orm: Orm; secrets: SecretBox; probe: KeyProber }) {}

  blueprint(name: string): Blueprint {
    const found = findBlueprint(name);
    if (!found) throw new NotFoundError('Blueprint');
    return found;
  }

  async list(tenantId: string): Promise<AgentConfig[]> {
    return inTenant(this.deps.orm, tenantId, (em) => em.find(AgentConfigSchema, {}, { orderBy: { agentBlueprint: 'asc' } }));
  }

  async find(tenantId: string, blueprint: string): Promise<AgentConfig | null> {
    if (!findBlueprint(blueprint)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(AgentConfigSchema, { agentBlueprint: blueprint }));
  }

  async findById(tenantId: string, id: string): Promise<AgentConfig | null> {
    if (!isUuid(id)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(AgentConfigSchema, { id }));
  }

  async get(tenantId: string, blueprint: string): Promise<AgentConfig> {
    const config = await this.find(tenantId, blueprint);
    if (!config) throw new NotFoundError('Agent config');
    return config;
  }

  async put(actor: Actor, blueprint: string, input: AgentConfigInput): Promise<AgentConfig> {
    this.blueprint(blueprint);
    const parsed = configInput.safeParse(input ?? {});
    if (!parsed.success) throw fieldError(parsed.error);
    const data = parsed.data;
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const config = await this.findOrCreate(em, actor.tenantId, blueprint);
      const schedule = data.schedule?.trim() || null;
      // A new or changed schedule fires first after now; an unchanged one keeps its next tick
      // (recomputing it could skip a tick that is due but not yet fired).
      if (!schedule) config.scheduleNextAt = null;
      else if (schedule !== config.schedule || !config.scheduleNextAt) config.scheduleNextAt = await firstFireAfterNow(em, actor.tenantId, schedule);
      Object.assign(config, {
        systemPrompt: data.systemPrompt ?? null,
        model: data.model ?? null,
        tools: data.tools ?? [],
        budgetDefaultCents: data.budgetDefaultCents ?? null,
        deadlineDefaultSeconds: data.deadlineDefaultSeconds ?? null,
        guardrails: data.guardrails ?? [],
        schedule,
      });
      recordAudit(em, actor, {
        action: 'agent_config.put',
        targetType: 'agent_config',
        targetId: blueprint,
        detail: { fields: Object.keys(input ?? {}).sort() },
      });
      await em.flush();
      return config;
    });
  }

  async delete(actor: Actor, blueprint: string): Promise<AgentConfig> {
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const config = await this.existing(em, blueprint);
      em.remove(config);
      recordAudit(em, actor, { action: 'agent_config.delete', targetType: 'agent_config', targetId: blueprint });
      await em.flush();
      return config;
    });
  }

  /** The operator closes the circuit breaker. */
  async enable(actor: Actor, blueprint: string): Promise<AgentConfig> {
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const config = await this.existing(em, blueprint);
      const wasDisabled = config.disabledAt !== null && config.disabledAt !== undefined;
      Object.assign(config, { disabledAt: null, disableReason: null });
      // Ticks missed while disabled are not made up: the schedule resumes from now.
      if (wasDisabled && config.schedule) config.scheduleNextAt = await firstFireAfterNow(em, actor.tenantId, config.schedule);
      recordAudit(em, actor, {
        action: 'agent_config.enable',
        targetType: 'agent_config',
        targetId: blueprint,
        detail: { wasDisabled },
      });
      await em.flush();
      return config;
    });
  }

  /** Never stores anything. */
  async validateKey(apiKey: string): Promise<KeyProbeResult> {
    return this.deps.probe(apiKey);
  }

  /** Probe → encrypt → store. An invalid key raises KeyProbeError and changes nothing. */
  async setByokKey(actor: Actor, blueprint: string, apiKey: string): Promise<AgentConfig> {
    this.blueprint(blueprint);
    const key = apiKey.trim();
    if (key.length < 8 || key.length > 1_000) throw new InputError('apiKey must be 8 to 1000 characters.', 'apiKey');
    const probe = await this.deps.probe(key);
    if (!probe.valid) throw new KeyProbeError(probe);
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const config = await this.findOrCreate(em, actor.tenantId, blueprint);
      Object.assign(config, {
        byokKeyCiphertext: await this.deps.secrets.encrypt(em, byokLocation(config), key),
        byokKeyHint: secretHint(key),
        byokStatus: 'active',
        byokStatusReason: null,
        byokLastProbedAt: new Date(),
      });
      recordAudit(em, actor, {
        action: 'byok_key.set',
        targetType: 'agent_config',
        targetId: blueprint,
        detail: { keyHint: config.byokKeyHint },
      });
      await em.flush();
      return config;
    });
  }

  /** Wipes the ciphertext; the status stays `revoked` until a new key is set. */
  async revokeByokKey(actor: Actor, blueprint: string): Promise<AgentConfig> {
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const config = await this.existing(em, blueprint);
      Object.assign(config, {
        byokKeyCiphertext: null,
        byokStatus: 'revoked',
        byokStatusReason: 'Revoked by operator',
      });
      recordAudit(em, actor, {
        action: 'byok_key.revoke',
        targetType: 'agent_config',
        targetId: blueprint,
        detail: { keyHint: config.byokKeyHint ?? null },
      });
      await em.flush();
      return config;
    });
  }

  /**
   * For the worker boundary only: the config a run was enqueued with (or a config by id) and the
   * tenant's plaintext key for it (null when none is usable). A data key not yet cached in this
   * process is read through `keys`.
   */
  runConfigRead(tenantId: string, of: { runId: string } | { configId: string }, keys: SqlExecutor): TenantRead<RunStart> {
    return {
      sql: `select c.id, c.version, c.agent_blueprint, c.model, c.system_prompt, c.tools, c.guardrails, c.byok_status, c.byok_key_ciphertext, t.timezone
              from agent_configs c join tenants t on t.id = c.tenant_id
             where c.id = ${'runId' in of ? '(select config_id from agent_runs where id = ?)' : '?'}`,
      params: ['runId' in of ? of.runId : of.configId],
      decode: async ([row]) => {
        if (!row) return { config: null, apiKey: null };
        const config: RunConfig = {
          id: row.id,
          version: row.version,
          model: row.model,
          systemPrompt: row.system_prompt,
          tools: row.tools ?? [],
          guardrails: row.guardrails ?? [],
          byokStatus: row.byok_status,
          tenantTimezone: row.timezone,
        };
        if (!row.byok_key_ciphertext || row.byok_status !== 'active') return { config, apiKey: null };
        const location = byokLocation({ tenantId, id: row.id } as AgentConfig);
        return { config, apiKey: await this.deps.secrets.decrypt(keys, location, Buffer.from(row.byok_key_ciphertext)) };
      },
    };
  }

  /** The tenant's plaintext key for a blueprint, or null when none is usable (runConfigRead, by blueprint). */
  async byokKey(tenantId: string, blueprint: string): Promise<string | null> {
    return inTenantSql(this.deps.orm, tenantId, async (sql) => {
      const [config] = await sql.execute<{ id: string }[]>(`select id from agent_configs where agent_blueprint = ?`, [blueprint]);
      return config ? (await executeRead(sql, this.runConfigRead(tenantId, { configId: config.id }, sql))).apiKey : null;
    });
  }

  private async existing(em: TenantEm, blueprint: string): Promise<AgentConfig> {
    const config = findBlueprint(blueprint) ? await em.findOne(AgentConfigSchema, { agentBlueprint: blueprint }) : null;
    if (!config) throw new NotFoundError('Agent config');
    return config;
  }

  private async findOrCreate(em: TenantEm, tenantId: string, blueprint: string): Promise<AgentConfig> {
    // Serialises concurrent first writes for the same blueprint in this tenant.
    await em.execute('select pg_advisory_xact_lock(hashtext(?), hashtext(?))', [tenantId, blueprint]);
    const found = await em.findOne(AgentConfigSchema, { agentBlueprint: blueprint });
    if (found) return found;
    const config = em.create(AgentConfigSchema, {
      tenantId,
      id: randomUUID(),
      agentBlueprint: blueprint,
      tools: [],
      guardrails: [],
      byokStatus: 'missing',
    } as unknown as AgentConfig);
    em.persist(config);
    return config;
  }
}
