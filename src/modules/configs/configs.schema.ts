import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { ErrorInterface } from '../../graphql/errors';
import { registerNodeLoader } from '../../graphql/node';
import { InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { AgentConfig } from './agent-config.entity';
import { KeyProbeError, type AgentConfigService } from './agent-config.service';
import { BLUEPRINTS, type Blueprint } from './blueprints';
import type { KeyProbeResult } from './key-probe';

declare module '../../platform/services' {
  interface Services {
    agentConfigs: AgentConfigService;
  }
}

const read = { scope: 'agents:read' } as const;
const write = { scope: 'agents:write' } as const;

const ByokStatusEnum = builder.enumType('ByokStatus', { values: ['MISSING', 'ACTIVE', 'INVALID', 'REVOKED'] as const });

const KeyProbeCategoryEnum = builder.enumType('KeyProbeCategory', {
  description:
    'Why a key failed its probe. The first four need an operator; RATE_LIMITED and PROVIDER_UNAVAILABLE are not the key\'s fault (KeyProbeError.transient says whether retrying can help).',
  values: [
    'INVALID_KEY',
    'REVOKED_OR_EXPIRED',
    'INSUFFICIENT_PERMISSIONS',
    'QUOTA_EXHAUSTED',
    'RATE_LIMITED',
    'PROVIDER_UNAVAILABLE',
  ] as const,
});

const upper = (value: string) => value.toUpperCase() as never;

const BlueprintRef = builder.objectRef<Blueprint>('Blueprint').implement({
  description: 'A code-defined agent kind and its defaults.',
  fields: (t) => ({
    name: t.exposeString('name'),
    description: t.exposeString('description'),
    systemPrompt: t.exposeString('systemPrompt'),
    model: t.exposeString('model'),
    tools: t.exposeStringList('tools'),
    budgetDefaultCents: t.exposeInt('budgetDefaultCents'),
    deadlineDefaultSeconds: t.exposeInt('deadlineDefaultSeconds'),
    guardrails: t.field({ type: 'JSON', resolve: (b) => b.guardrails }),
  }),
});

registerNodeLoader('AgentConfig', (ctx, id) => ctx.services.agentConfigs.findById(principalOf(ctx).tenantId, id));

const AgentConfigRef = builder.node(builder.objectRef<AgentConfig>('AgentConfig'), {
  description: "A tenant's configuration of one blueprint. Key material never leaves the server; only a hint does.",
  authScopes: read,
  id: { resolve: (c) => c.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    blueprint: t.exposeString('agentBlueprint'),
    systemPrompt: t.exposeString('systemPrompt', { nullable: true }),
    model: t.exposeString('model', { nullable: true }),
    tools: t.exposeStringList('tools'),
    budgetDefaultCents: t.int({ nullable: true, resolve: (c) => c.budgetDefaultCents ?? null }),
    deadlineDefaultSeconds: t.exposeInt('deadlineDefaultSeconds', { nullable: true }),
    guardrails: t.field({ type: 'JSON', resolve: (c) => c.guardrails }),
    schedule: t.exposeString('schedule', { nullable: true }),
    byokStatus: t.field({ type: ByokStatusEnum, resolve: (c) => upper(c.byokStatus) }),
    byokStatusReason: t.exposeString('byokStatusReason', { nullable: true }),
    byokLastProbedAt: t.expose('byokLastProbedAt', { type: 'DateTime', nullable: true }),
    byokKeyHint: t.exposeString('byokKeyHint', { nullable: true }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true }),
    disableReason: t.exposeString('disableReason', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const KeyProbeRef = builder.objectRef<KeyProbeResult>('KeyProbe').implement({
  description: 'The outcome of a live, token-free call to Anthropic with the key.',
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    category: t.field({
      type: KeyProbeCategoryEnum,
      nullable: true,
      resolve: (p) => (p.valid ? null : upper(p.category)),
    }),
    message: t.string({ nullable: true, resolve: (p) => (p.valid ? null : p.message) }),
  }),
});

builder.objectType(KeyProbeError, {
  name: 'KeyProbeError',
  description: 'setByokKey refused the key; nothing was stored.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    category: t.field({ type: KeyProbeCategoryEnum, resolve: (e) => upper(e.probe.category) }),
    transient: t.boolean({ resolve: (e) => e.probe.transient }),
  }),
});

const AgentConfigInput = builder.inputType('AgentConfigInput', {
  description: 'Full replace: every field omitted becomes null (lists: empty).',
  fields: (t) => ({
    systemPrompt: t.string(),
    model: t.string(),
    tools: t.stringList(),
    budgetDefaultCents: t.int(),
    deadlineDefaultSeconds: t.int(),
    guardrails: t.field({ type: 'JSON', description: 'A list of guardrail rules (docs/guardrails.md).' }),
    schedule: t.string({ description: 'Cron: 5 fields, or 6 with seconds first.' }),
  }),
});

builder.queryFields((t) => ({
  blueprints: t.field({
    type: [BlueprintRef],
    authScopes: read,
    resolve: () => [...BLUEPRINTS],
  }),
  agentConfigs: t.field({
    type: [AgentConfigRef],
    authScopes: read,
    resolve: (_root, _args, ctx) => ctx.services.agentConfigs.list(principalOf(ctx).tenantId),
  }),
  agentConfig: t.field({
    type: AgentConfigRef,
    nullable: true,
    authScopes: read,
    args: { blueprint: t.arg.string({ required: true }) },
    resolve: (_root, { blueprint }, ctx) => ctx.services.agentConfigs.find(principalOf(ctx).tenantId, blueprint),
  }),
}));

builder.mutationFields((t) => ({
  putAgentConfig: t.field({
    type: AgentConfigRef,
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }), input: t.arg({ type: AgentConfigInput, required: true }) },
    errors: { types: [InputError, NotFoundError], directResult: true, union: { name: 'PutAgentConfigResult' } },
    resolve: (_root, { blueprint, input }, ctx) =>
      ctx.services.agentConfigs.put(actorOf(principalOf(ctx)), blueprint, {
        systemPrompt: input.systemPrompt,
        model: input.model,
        tools: input.tools,
        budgetDefaultCents: input.budgetDefaultCents,
        deadlineDefaultSeconds: input.deadlineDefaultSeconds,
        guardrails: input.guardrails as never,
        schedule: input.schedule,
      }),
  }),
  deleteAgentConfig: t.field({
    type: AgentConfigRef,
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'DeleteAgentConfigResult' } },
    resolve: (_root, { blueprint }, ctx) => ctx.services.agentConfigs.delete(actorOf(principalOf(ctx)), blueprint),
  }),
  enableAgentConfig: t.field({
    type: AgentConfigRef,
    description: 'Closes the circuit breaker: clears disabledAt and disableReason.',
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'EnableAgentConfigResult' } },
    resolve: (_root, { blueprint }, ctx) => ctx.services.agentConfigs.enable(actorOf(principalOf(ctx)), blueprint),
  }),
  setByokKey: t.field({
    type: AgentConfigRef,
    description: 'Probes the key, then encrypts and stores it. An invalid key changes nothing.',
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }), apiKey: t.arg.string({ required: true }) },
    errors: {
      types: [KeyProbeError, InputError, NotFoundError],
      directResult: true,
      union: { name: 'SetByokKeyResult' },
    },
    resolve: (_root, { blueprint, apiKey }, ctx) =>
      ctx.services.agentConfigs.setByokKey(actorOf(principalOf(ctx)), blueprint, apiKey),
  }),
  revokeByokKey: t.field({
    type: AgentConfigRef,
    description: 'Wipes the stored key; the status stays REVOKED until a new key is set.',
    authScopes: write,
    args: { blueprint: t.arg.string({ required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'RevokeByokKeyResult' } },
    resolve: (_root, { blueprint }, ctx) => ctx.services.agentConfigs.revokeByokKey(actorOf(principalOf(ctx)), blueprint),
  }),
  validateAnthropicKey: t.field({
    type: KeyProbeRef,
    description: 'Probes a key and stores nothing.',
    authScopes: write,
    args: { apiKey: t.arg.string({ required: true }) },
    resolve: (_root, { apiKey }, ctx) => ctx.services.agentConfigs.validateKey(apiKey),
  }),
}));
