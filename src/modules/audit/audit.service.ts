import { randomUUID } from 'node:crypto';
import type { Orm } from '../../db/orm';
import { inTenant, type SqlRunner, type TenantEm } from '../../db/tenant-transaction';
import { afterFilter, pageSize, toPage, type Page, type PageArgs } from '../../db/pagination';
import type { Actor } from '../../platform/auth';
import { AuditEventSchema, type AuditEvent } from './audit-event.entity';

export type AuditEntry = {
  action: string;
  targetType: string;
  targetId?: string | null;
  /** Non-secret facts only: hints, providers, statuses, outcomes. */
  detail?: Record<string, unknown>;
};

/**
 * Records who did what to which secret or config, in the same transaction as the change
 * itself, so a change and its audit row commit or roll back together.
 */
export function recordAudit(em: TenantEm, actor: Actor, entry: AuditEntry): void {
  em.persist(em.create(AuditEventSchema, auditRow(actor, entry) as AuditEvent));
}

/** recordAudit for plain-SQL transactions (inTenantSql). */
export async function recordAuditSql(sql: SqlRunner, actor: Actor, entry: AuditEntry): Promise<void> {
  const row = auditRow(actor, entry);
  await sql.execute(
    `insert into audit_events (tenant_id, id, actor_account_id, actor, action, target_type, target_id, detail)
     values (?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
    [row.tenantId, row.id, row.actorAccountId, row.actor, row.action, row.targetType, row.targetId, JSON.stringify(row.detail)],
  );
}

function auditRow(actor: Actor, entry: AuditEntry) {
  return {
    tenantId: actor.tenantId,
    id: randomUUID(),
    actorAccountId: actor.accountId ?? null,
    actor: actor.name,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    detail: entry.detail ?? {},
  };
}

export class AuditService {
  constructor(private readonly deps: { orm: Orm }) {}

  async list(tenantId: string, args: PageArgs): Promise<Page<AuditEvent>> {
    const size = pageSize(args.first);
    const rows = await inTenant(this.deps.orm, tenantId, (em) =>
      em.find(AuditEventSchema, afterFilter(args.after), { orderBy: { createdAt: 'desc', id: 'desc' }, limit: size + 1 }),
    );
    return toPage(rows, size);
  }
}
