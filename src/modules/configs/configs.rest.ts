import { InputError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { Route } from '../../platform/rest';
import type { AgentConfig } from './agent-config.entity';
import { KeyProbeError, type AgentConfigInput } from './agent-config.service';
import type { KeyProbeResult } from './key-probe';

/** The REST record (seed 002's AgentConfig, snake_case); never key material, only its hint. */
export function agentConfigJson(c: AgentConfig) {
  return {
    id: c.id,
    tenant_id: c.tenantId,
    agent_blueprint: c.agentBlueprint,
    system_prompt: c.systemPrompt ?? null,
    model: c.model ?? null,
    tools: c.tools,
    byok_status: c.byokStatus,
    byok_status_reason: c.byokStatusReason ?? null,
    byok_last_probed_at: c.byokLastProbedAt?.toISOString() ?? null,
    byok_key_hint: c.byokKeyHint ?? null,
    guardrails: c.guardrails,
    budget_default_cents: c.budgetDefaultCents ?? null,
    deadline_default_seconds: c.deadlineDefaultSeconds ?? null,
    schedule: c.schedule ?? null,
    disabled_at: c.disabledAt?.toISOString() ?? null,
    disable_reason: c.disableReason ?? null,
    created_at: c.createdAt.toISOString(),
    updated_at: c.updatedAt.toISOString(),
  };
}

export function probeJson(probe: KeyProbeResult) {
  return probe.valid ? { status: 'valid' } : { status: 'invalid', category: probe.category, message: probe.message };
}

const FIELDS: Record<string, keyof AgentConfigInput> = {
  system_prompt: 'systemPrompt',
  model: 'model',
  tools: 'tools',
  budget_default_cents: 'budgetDefaultCents',
  deadline_default_seconds: 'deadlineDefaultSeconds',
  guardrails: 'guardrails',
  schedule: 'schedule',
};

function objectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InputError('The body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

function configInput(body: unknown): AgentConfigInput {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(objectBody(body))) {
    const field = FIELDS[key];
    // Typos would silently become nulls under full-replace semantics, so they are refused.
    if (!field) throw new InputError(`Unknown field: ${key}`, key);
    input[field] = value;
  }
  return input as AgentConfigInput;
}

function apiKeyOf(body: unknown): string {
  const { api_key: apiKey } = objectBody(body);
  if (typeof apiKey !== 'string') throw new InputError('api_key is required.', 'api_key');
  return apiKey;
}

export const configRoutes: Route[] = [
  {
    method: 'GET',
    path: '/api/v1/agent-configs',
    scope: 'agents:read',
    handler: async ({ principal, services }) => ({
      status: 200,
      body: (await services.agentConfigs.list(principal!.tenantId)).map(agentConfigJson),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/agent-configs/validate-key',
    scope: 'agents:write',
    handler: async ({ body, services }) => ({ status: 200, body: probeJson(await services.agentConfigs.validateKey(apiKeyOf(body))) }),
  },
  {
    method: 'GET',
    path: '/api/v1/agent-configs/{blueprint}',
    scope: 'agents:read',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: agentConfigJson(await services.agentConfigs.get(principal!.tenantId, params.blueprint!)),
    }),
  },
  {
    method: 'PUT',
    path: '/api/v1/agent-configs/{blueprint}',
    scope: 'agents:write',
    handler: async ({ principal, params, body, services }) => ({
      status: 200,
      body: agentConfigJson(await services.agentConfigs.put(actorOf(principal!), params.blueprint!, configInput(body))),
    }),
  },
  {
    method: 'DELETE',
    path: '/api/v1/agent-configs/{blueprint}',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: agentConfigJson(await services.agentConfigs.delete(actorOf(principal!), params.blueprint!)),
    }),
  },
  {
    method: 'POST',
    path: '/api/v1/agent-configs/{blueprint}/enable',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: agentConfigJson(await services.agentConfigs.enable(actorOf(principal!), params.blueprint!)),
    }),
  },
  {
    method: 'PUT',
    path: '/api/v1/agent-configs/{blueprint}/byok-key',
    scope: 'agents:write',
    handler: async ({ principal, params, body, services }) => {
      try {
        const config = await services.agentConfigs.setByokKey(actorOf(principal!), params.blueprint!, apiKeyOf(body));
        return { status: 200, body: agentConfigJson(config) };
      } catch (err) {
        // The seed answers an invalid key with 400 and the probe body itself.
        if (err instanceof KeyProbeError) return { status: 400, body: probeJson(err.probe) };
        throw err;
      }
    },
  },
  {
    method: 'DELETE',
    path: '/api/v1/agent-configs/{blueprint}/byok-key',
    scope: 'agents:write',
    handler: async ({ principal, params, services }) => ({
      status: 200,
      body: agentConfigJson(await services.agentConfigs.revokeByokKey(actorOf(principal!), params.blueprint!)),
    }),
  },
];
