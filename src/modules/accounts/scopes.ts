/** Every scope a token can hold (DESIGN §2). Scope-auth picks operations; RLS picks rows. */
export const SCOPES = [
  'health:read',
  'readiness:read',
  'auth:read',
  'accounts:read',
  'accounts:write',
  'agents:read',
  'agents:write',
  'runs:read',
  'runs:write',
  'approvals:write',
  'workflows:read',
  'workflows:write',
  'worker:execute',
  'billing:read',
] as const;

export type Scope = (typeof SCOPES)[number];

const known = new Set<string>(SCOPES);

export function isScope(value: string): value is Scope {
  return known.has(value);
}
