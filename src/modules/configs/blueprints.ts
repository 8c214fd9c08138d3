import type { GuardrailRule } from '../guardrails/rules';

/**
 * Code-defined agent kinds. A tenant's AgentConfig overrides these defaults; what is not
 * overridden (null / empty) falls back to the blueprint when a run starts.
 */
export type Blueprint = {
  name: string;
  description: string;
  systemPrompt: string;
  model: string;
  /** Built-in tools the blueprint brings; app tools and workspace actions are added per tenant. */
  tools: string[];
  budgetDefaultCents: number;
  deadlineDefaultSeconds: number;
  guardrails: GuardrailRule[];
};

const DEFAULT_MODEL = 'claude-sonnet-4-6';

export const BLUEPRINTS: readonly Blueprint[] = [
  {
    name: 'contact_deduper',
    description: "Scans the tenant's contacts for likely duplicates and proposes merges.",
    systemPrompt: [
      'You find duplicate contacts. Ask for duplicate candidates (computed by the database), or list the contacts in pages,',
      'compare names, emails, phone numbers and companies,',
      'and propose a merge only when two records clearly describe the same person. Explain each proposal in one sentence.',
      'Never merge on a shared company alone. When you have reviewed every page, answer with a short summary.',
    ].join(' '),
    model: DEFAULT_MODEL,
    tools: ['list_contacts', 'find_duplicate_candidates', 'propose_merge'],
    budgetDefaultCents: 200,
    deadlineDefaultSeconds: 900,
    guardrails: [{ type: 'rate_limit', tool: 'propose_merge', max_calls: 100, window_seconds: 3600, scope: 'run' }],
  },
  {
    name: 'custom',
    description: "The tenant's own prompt over its enabled app tools and workspace actions.",
    systemPrompt: 'You are a careful assistant. Use the tools you are given to complete the task, then answer concisely.',
    model: DEFAULT_MODEL,
    tools: [],
    budgetDefaultCents: 100,
    deadlineDefaultSeconds: 600,
    guardrails: [],
  },
];

export function findBlueprint(name: string): Blueprint | undefined {
  return BLUEPRINTS.find((b) => b.name === name);
}
