import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { connectionOf } from '../../graphql/connection';
import type { AuditEvent } from './audit-event.entity';
import type { AuditService } from './audit.service';

declare module '../../platform/services' {
  interface Services {
    audit: AuditService;
  }
}

const AuditEventRef = builder.objectRef<AuditEvent>('AuditEvent').implement({
  description: 'One secret or config operation: who, what, when, on which target. Never a secret.',
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    actor: t.exposeString('actor', { description: 'The account name, or "operator (cli)".' }),
    actorAccountId: t.expose('actorAccountId', { type: 'UUID', nullable: true }),
    action: t.exposeString('action'),
    targetType: t.exposeString('targetType'),
    targetId: t.exposeString('targetId', { nullable: true }),
    detail: t.field({ type: 'JSON', resolve: (e) => e.detail }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

builder.queryField('auditEvents', (t) =>
  t.connection({
    type: AuditEventRef,
    description: 'The tenant audit log, newest first.',
    authScopes: { scope: 'accounts:read' },
    resolve: async (_root, args, ctx) => {
      const page = await ctx.services.audit.list(principalOf(ctx).tenantId, args);
      return connectionOf(page, args);
    },
  }, { name: 'AuditEventConnection' }, { name: 'AuditEventEdge' }),
);
