import { AccountSchema } from './accounts/account.entity';
import { TenantSchema } from './accounts/tenant.entity';
import { AppSchema } from './apps/app.entity';
import { AuditEventSchema } from './audit/audit-event.entity';
import { ContactSchema } from './contacts/contact.entity';
import { MergeProposalSchema } from './contacts/merge-proposal.entity';
import { AgentEventSchema, AgentRunSchema, AgentStepSchema } from './runs/agent-run.entity';
import { AgentConfigSchema } from './configs/agent-config.entity';
import { IntegrationKeySchema } from './keys/integration-key.entity';

/** Every entity the ORM knows; the composition root hands this list to createOrm. */
export const entities = [TenantSchema, AccountSchema, AuditEventSchema, AgentConfigSchema, IntegrationKeySchema, AppSchema, ContactSchema, MergeProposalSchema, AgentRunSchema, AgentStepSchema, AgentEventSchema];
