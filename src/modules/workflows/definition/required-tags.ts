import type { ActionDef } from './types';

/**
 * The worker tags a step of `action` needs (seed 001 §2.3, `compute_required_tags`): a claim
 * matches when every one of them is among the worker's tags. Agent actions need none because they
 * run as agent runs on the built-in pool, never on a workflow worker.
 */
export function requiredTags(action: Pick<ActionDef, 'type' | 'runner' | 'tags'>): string[] {
  const tags = new Set(action.tags);
  const implied = impliedTag(action);
  if (implied) tags.add(implied);
  return [...tags].sort();
}

function impliedTag(action: Pick<ActionDef, 'type' | 'runner'>): string | null {
  switch (action.type) {
    case 'script':
      return action.runner === 'docker' ? 'docker' : action.runner === 'pod' ? 'kubernetes' : 'script';
    case 'docker':
      return 'docker';
    case 'pod':
      return 'kubernetes';
    case 'agent':
      return null;
  }
}
