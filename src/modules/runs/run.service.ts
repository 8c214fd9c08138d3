import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { executeRead, inTenant, inTenantSql, tenantStatements, type SqlExecutor, type TenantRead } from '../../db/tenant-transaction';
import { ConflictError, InputError, NotFoundError } from '../../db/errors';
import { afterFilter, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import type { Bus } from '../../platform/bus';
import { recordAudit } from '../audit/audit.service';
import { findBlueprint } from '../configs/blueprints';
import { AgentEventSchema, AgentRunSchema, RUN_STATUSES, type AgentEvent, type AgentRun, type RunStatus } from './agent-run.entity';
import { RUN_CANCELLED, RUN_QUEUE_CHANNEL, runChannel, type RunCancelled, type RunChanged } from './run-channels';

const MAX_INPUT_BYTES = 256 * 1024;

const enqueueInput = z
  .object({
    input: z.unknown().optional(),
    budgetUsdCents: z.number({ message: 'budgetUsdCents must be a number' }).positive('budgetUsdCents must be positive').max(1e9).nullish(),
    deadlineSeconds: z.number().int('deadlineSeconds must be a whole number').min(1).max(7 * 24 * 3600).nullish(),
    runAt: z.coerce.date({ message: 'runAt must be a date-time' }).nullish(),
    idempotencyKey: z.string().min(1).max(200, 'idempotencyKey must be at most 200 characters').nullish(),
  })
  .strict();
export type EnqueueRunInput = z.input<typeof enqueueInput>;
export type Enqueued = { run: AgentRun; created: boolean };

export type RunFilter = PageArgs & { blueprint?: string | null; status?: RunStatus | null };

/** A journaled step with its payloads back in place (spilled ones included). */
export type StepView = {
  seq: number;
  kind: 'llm' | 'tool';
  name: string;
  input: unknown;
  output: unknown;
  isError: boolean;
  model: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  costUsdCents: number;
  startedAt: Date;
  completedAt: Date;
};

export type BillingDay = {
  day: string;
  agentBlueprint: string;
  runs: number;
  succeeded: number;
  failed: number;
  costUsdCents: number;
  platformFeeCents: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
};

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const message = issue.code === 'unrecognized_keys' ? `Unknown field: ${issue.keys.join(', ')}` : issue.message;
    throw new InputError(message, issue.path.join('.') || undefined);
  }
  return parsed.data;
}

export class RunService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; onPublishError: (err: unknown) => void }) {}

  /**
   * Queues a run of the tenant's config for the blueprint; the config's defaults fill what the
   * caller leaves out. An idempotency key answers the run it created before (created: false).
   */
  async enqueue(actor: Actor, blueprint: string, input: EnqueueRunInput, source = 'api'): Promise<Enqueued> {
    // The enqueue is one statement; the read after an idempotency conflict sees a committed run.
    // So each is its own one-round-trip transaction.
    return enqueueIn(tenantStatements(this.deps.orm, actor.tenantId), actor.tenantId, blueprint, input, source);
  }

  /**
   * A run waiting on something outside it (a workflow job it called as a tool) goes back to the
   * queue, with an event saying why. False when it was not waiting (nothing changes).
   */
  async resumeWaiting(tenantId: string, runId: string, event: { type: string; detail: Record<string, unknown> }): Promise<boolean> {
    const changed = await inTenantSql(this.deps.orm, tenantId, async (sql) => {
      const [row] = await sql.execute<unknown[]>(
        `update agent_runs set status = 'queued', run_at = now(), updated_at = now() where id = ? and status = 'waiting' returning id`,
        [runId],
      );
      if (!row) return null;
      await sql.execute('select pg_notify(?, ?)', [RUN_QUEUE_CHANNEL, runId]);
      const eventSeq = await appendEvent(sql, tenantId, runId, event.type, event.detail);
      return { runId, status: 'queued', eventSeq } satisfies RunChanged;
    });
    if (changed) this.deps.bus.publish(runChannel(runId), changed).catch(this.deps.onPublishError);
    return changed !== null;
  }

  async list(tenantId: string, filter: RunFilter): Promise<Page<AgentRun>> {
    const size = pageSize(filter.first);
    if (filter.status && !(RUN_STATUSES as readonly string[]).includes(filter.status)) {
      throw new InputError(`status must be one of ${RUN_STATUSES.join(', ')}`, 'status');
    }
    const where = {
      ...afterFilter(filter.after),
      ...(filter.blueprint ? { agentBlueprint: filter.blueprint } : {}),
      ...(filter.status ? { status: filter.status } : {}),
    };
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(AgentRunSchema, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }

  async find(tenantId: string, id: string): Promise<AgentRun | null> {
    if (!isUuid(id)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(AgentRunSchema, { id }));
  }

  /** One run; with a blueprint, it must be of that blueprint (REST paths name it). */
  async get(tenantId: string, id: string, blueprint?: string): Promise<AgentRun> {
    const run = await this.find(tenantId, id);
    if (!run || (blueprint !== undefined && run.agentBlueprint !== blueprint)) throw new NotFoundError('Run');
    return run;
  }

  async steps(tenantId: string, runId: string): Promise<StepView[]> {
    if (!isUuid(runId)) return [];
    return inTenantSql(this.deps.orm, tenantId, (sql) => readSteps(sql, runId));
  }


  async events(tenantId: string, runId: string): Promise<AgentEvent[]> {
    if (!isUuid(runId)) return [];
    return inTenant(this.deps.orm, tenantId, (em) => em.find(AgentEventSchema, { runId }, { orderBy: { seq: 'asc' } }));
  }

  /**
   * Cancels a run that has not ended. A running run's worker hears it over the bus and aborts its
   * LLM stream or tool call; its lease is gone, so nothing it writes afterwards lands.
   */
  async cancel(actor: Actor, id: string, blueprint?: string): Promise<AgentRun> {
    const run = await this.get(actor.tenantId, id, blueprint);
    const cancelled = await inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const rows = await em.execute<{ id: string }[]>(
        `update agent_runs
            set status = 'cancelled', failure_category = 'cancelled', failure_detail = 'Cancelled by ' || ?,
                lease_token = null, lease_owner = null, lease_expires_at = null,
                completed_at = now(), updated_at = now()
          where id = ? and status in ('queued', 'running', 'waiting')
          returning id`,
        [actor.name, run.id],
      );
      if (rows.length === 0) return null;
      await appendEvent(em, actor.tenantId, run.id, 'cancelled', { by: actor.name, from: run.status });
      recordAudit(em, actor, { action: 'run.cancel', targetType: 'run', targetId: run.id, detail: { from: run.status } });
      return em.findOneOrFail(AgentRunSchema, { id: run.id }, { refresh: true });
    });
    if (!cancelled) throw new ConflictError(`The run has already ended (${run.status}).`);
    this.publish(RUN_CANCELLED, { tenantId: actor.tenantId, runId: run.id } satisfies RunCancelled);
    this.publish(runChannel(run.id), { runId: run.id, status: 'cancelled' });
    return cancelled;
  }

  async billingDaily(tenantId: string, from: Date, to: Date): Promise<BillingDay[]> {
    if (to < from) throw new InputError('to must not be before from', 'to');
    if (to.getTime() - from.getTime() > 366 * 24 * 3600 * 1000) throw new InputError('at most 366 days at a time', 'to');
    return inTenant(this.deps.orm, tenantId, async (em) => {
      const rows = await em.execute<Record<string, any>[]>(
        `select to_char(day, 'YYYY-MM-DD') as day, agent_blueprint, runs, succeeded, failed, cost_usd_cents, platform_fee_cents,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens
           from agent_runs_billing_daily
          where day between ?::date and ?::date
          order by day, agent_blueprint`,
        [from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
      );
      return rows.map((r) => ({
        day: r.day,
        agentBlueprint: r.agent_blueprint,
        runs: Number(r.runs),
        succeeded: Number(r.succeeded),
        failed: Number(r.failed),
        costUsdCents: Number(r.cost_usd_cents ?? 0),
        platformFeeCents: Number(r.platform_fee_cents ?? 0),
        inputTokens: Number(r.input_tokens ?? 0),
        outputTokens: Number(r.output_tokens ?? 0),
        cacheReadTokens: Number(r.cache_read_tokens ?? 0),
        cacheWriteTokens: Number(r.cache_write_tokens ?? 0),
      }));
    });
  }

  private publish(channel: string, message: unknown): void {
    this.deps.bus.publish(channel, message).catch(this.deps.onPublishError);
  }
}

/**
 * RunService.enqueue's work inside the caller's tenant transaction, so a caller can enqueue and
 * change other rows atomically (the scheduler enqueues a tick and advances the schedule).
 */
/**
 * Enqueues inside the caller's tenant transaction (an EntityManager or a plain SQL runner): plain
 * SQL throughout, because this is the API's hottest write.
 */
export async function enqueueIn(
  sql: SqlExecutor,
  tenantId: string,
  blueprint: string,
  input: EnqueueRunInput,
  source = 'api',
): Promise<Enqueued> {
  const data = parse(enqueueInput, input);
  const runInput = data.input ?? {};
  if (Buffer.byteLength(JSON.stringify(runInput) ?? 'null') > MAX_INPUT_BYTES) {
    throw new InputError(`input must be at most ${MAX_INPUT_BYTES} bytes of JSON`, 'input');
  }
  const defaults = findBlueprint(blueprint);
  if (!defaults) throw new NotFoundError('Blueprint');
  const id = randomUUID();
  const now = new Date();
  // One statement: the config's defaults and state, the run (only under an enabled config), its
  // 'queued' event (event_seq starts at 1) and the NOTIFY (ids only; sent when this commits).
  const [result]: { config: Record<string, any> | null; run: Record<string, any> | null }[] = await sql.execute(
    `with cfg as (
       select id, disabled_at, disable_reason, budget_default_cents, deadline_default_seconds from agent_configs where agent_blueprint = ?),
     ins as (
       insert into agent_runs (tenant_id, id, config_id, agent_blueprint, input, run_at, budget_usd_cents, deadline_seconds,
                               idempotency_key, source, created_at, updated_at, event_seq)
       select ?, ?, cfg.id, ?, ?::jsonb, ?, coalesce(?::numeric, cfg.budget_default_cents, ?::numeric),
              coalesce(?::integer, cfg.deadline_default_seconds, ?::integer), ?, ?, ?, ?, 1
         from cfg where cfg.disabled_at is null
       on conflict (tenant_id, agent_blueprint, idempotency_key) where idempotency_key is not null do nothing
       returning *),
     queued as (insert into agent_events (tenant_id, run_id, seq, type, detail) select tenant_id, id, 1, 'queued', ?::jsonb from ins),
     notified as (select pg_notify(?, ins.id::text) from ins)
     select (select row_to_json(cfg) from cfg) as config, (select row_to_json(ins) from ins) as run, (select count(*) from notified) as notified`,
    [
      blueprint,
      tenantId,
      id,
      blueprint,
      JSON.stringify(runInput),
      data.runAt ?? now,
      data.budgetUsdCents ?? null,
      defaults.budgetDefaultCents,
      data.deadlineSeconds ?? null,
      defaults.deadlineDefaultSeconds,
      data.idempotencyKey ?? null,
      source,
      // created_at from here, at the millisecond precision keyset cursors carry: with now()'s
      // microseconds, two runs in one millisecond could fall between pages.
      now,
      now,
      JSON.stringify({ source, runAt: data.runAt ?? null }),
      RUN_QUEUE_CHANNEL,
    ],
  );
  const config = result!.config;
  if (!config) throw new NotFoundError('Agent config');
  if (config.disabled_at) {
    throw new ConflictError(`The ${blueprint} config is disabled (${config.disable_reason ?? 'circuit breaker'}); enable it to run again.`);
  }
  if (result!.run) return { run: runFromRow(result!.run), created: true };
  // The idempotency key was used before: that run is the answer.
  const [existing]: Record<string, any>[] = await sql.execute(`select * from agent_runs where agent_blueprint = ? and idempotency_key = ?`, [
    blueprint,
    data.idempotencyKey,
  ]);
  return { run: runFromRow(existing!), created: false };
}

/** An agent_runs row (snake_case, as SQL returns it) as the entity the doors render. */
export function runFromRow(r: Record<string, any>): AgentRun {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    tenantId: r.tenant_id,
    id: r.id,
    configId: r.config_id,
    agentBlueprint: r.agent_blueprint,
    status: r.status,
    input: r.input,
    output: r.output ?? null,
    runAt: new Date(r.run_at),
    budgetUsdCents: r.budget_usd_cents === null ? null : Number(r.budget_usd_cents),
    deadlineSeconds: r.deadline_seconds,
    deadlineAt: date(r.deadline_at),
    costUsdCents: Number(r.cost_usd_cents),
    platformFeeCents: Number(r.platform_fee_cents),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    cacheReadTokens: Number(r.cache_read_tokens),
    cacheWriteTokens: Number(r.cache_write_tokens),
    consecutiveFailures: r.consecutive_failures,
    failureCategory: r.failure_category ?? null,
    failureDetail: r.failure_detail ?? null,
    idempotencyKey: r.idempotency_key ?? null,
    source: r.source,
    leaseToken: null,
    leaseOwner: null,
    leaseExpiresAt: null,
    attempts: r.attempts,
    logSeq: Number(r.log_seq),
    eventSeq: Number(r.event_seq),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  } as unknown as AgentRun;
}

/** A run's journal in seq order, spilled payloads back in place. */
export async function readSteps(sql: SqlExecutor, runId: string): Promise<RecordedStep[]> {
  return executeRead(sql, stepsRead(runId));
}

/** A journaled step as replay needs it: its view and the hash of its inputs. */
export type RecordedStep = StepView & { contentHash: string };

/** A run's journaled steps in seq order, payloads that spilled joined back. */
export function stepsRead(runId: string): TenantRead<RecordedStep[]> {
  return {
    sql: `select s.seq, s.kind, s.name, s.content_hash, coalesce(s.input, pi.body) as input, coalesce(s.output, po.body) as output,
            s.is_error, s.model, s.input_tokens, s.output_tokens, s.cache_read_tokens, s.cache_write_tokens,
            s.cost_usd_cents, s.started_at, s.completed_at
       from agent_steps s
       left join agent_step_payloads pi on pi.tenant_id = s.tenant_id and pi.run_id = s.run_id and pi.seq = s.seq and pi.part = 'input'
       left join agent_step_payloads po on po.tenant_id = s.tenant_id and po.run_id = s.run_id and po.seq = s.seq and po.part = 'output'
      where s.run_id = ?
      order by s.seq`,
    params: [runId],
    decode: (rows) =>
      rows.map((r) => ({
        seq: r.seq,
        kind: r.kind,
        name: r.name,
        contentHash: r.content_hash,
        input: r.input,
        output: r.output,
        isError: r.is_error,
        model: r.model,
        inputTokens: r.input_tokens,
        outputTokens: r.output_tokens,
        cacheReadTokens: r.cache_read_tokens,
        cacheWriteTokens: r.cache_write_tokens,
        costUsdCents: Number(r.cost_usd_cents),
        startedAt: new Date(r.started_at),
        completedAt: new Date(r.completed_at),
      })),
  };
}

/**
 * Appends an event to a run, numbering it under the run row's lock so events are gap-free and in
 * order. The caller's transaction decides whether it lands.
 */
export async function appendEvent(
  em: SqlExecutor,
  tenantId: string,
  runId: string,
  type: string,
  detail: Record<string, unknown>,
): Promise<number> {
  const [row]: { event_seq: string }[] = await em.execute(
    `update agent_runs set event_seq = event_seq + 1, updated_at = now() where id = ? returning event_seq`,
    [runId],
  );
  if (!row) return 0;
  await insertEvent(em, tenantId, runId, Number(row.event_seq), type, detail);
  return Number(row.event_seq);
}

/** An event whose number the caller allocated in its own update of the run row. */
export async function insertEvent(
  em: SqlExecutor,
  tenantId: string,
  runId: string,
  seq: number,
  type: string,
  detail: Record<string, unknown>,
): Promise<void> {
  await em.execute(`insert into agent_events (tenant_id, run_id, seq, type, detail) values (?, ?, ?, ?, ?::jsonb)`, [
    tenantId,
    runId,
    seq,
    type,
    JSON.stringify(detail),
  ]);
}
