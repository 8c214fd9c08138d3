import { defineEntity, type InferEntity } from '@mikro-orm/core';

/** Append-only: the table refuses updates and deletes (trigger), the app role may only insert. */
export const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    actorAccountId: p.uuid().nullable(),
    actor: p.text(),
    action: p.text(),
    targetType: p.text(),
    targetId: p.text().nullable(),
    detail: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  }),
});

export type AuditEvent = InferEntity<typeof AuditEventSchema>;
