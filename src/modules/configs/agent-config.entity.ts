import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { GuardrailRule } from '../guardrails/rules';

export type ByokStatus = 'missing' | 'active' | 'invalid' | 'revoked';

export const AgentConfigSchema = defineEntity({
  name: 'AgentConfig',
  tableName: 'agent_configs',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    agentBlueprint: p.text(),
    systemPrompt: p.text().nullable(),
    model: p.text().nullable(),
    tools: p.array().columnType('text[]'),
    budgetDefaultCents: p.bigint('number').nullable(),
    deadlineDefaultSeconds: p.integer().nullable(),
    guardrails: p.json<GuardrailRule[]>(),
    schedule: p.text().nullable(),
    /** When the schedule fires next (the scheduler advances it); null without a schedule. */
    scheduleNextAt: p.datetime().nullable(),
    byokStatus: p.text().$type<ByokStatus>(),
    byokStatusReason: p.text().nullable(),
    byokLastProbedAt: p.datetime().nullable(),
    // Never leaves the service: only the worker boundary decrypts it.
    byokKeyCiphertext: p.blob().nullable().hidden(),
    byokKeyHint: p.text().nullable(),
    disabledAt: p.datetime().nullable(),
    disableReason: p.text().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  }),
});

export type AgentConfig = InferEntity<typeof AgentConfigSchema>;
