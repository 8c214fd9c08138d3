import type { Account } from '../modules/accounts/account.entity';
import { effectiveStatus } from '../modules/accounts/account.entity';
import type { Tenant } from '../modules/accounts/tenant.entity';
import { tokenHint } from '../modules/accounts/token';

/** JSON shapes the CLI prints; snake_case like the REST door. Never the token hash. */
export function accountJson(a: Account) {
  return {
    id: a.id,
    name: a.name,
    description: a.description ?? null,
    owner: a.owner ?? null,
    scopes: a.scopes,
    status: effectiveStatus(a),
    expires_at: a.expiresAt?.toISOString() ?? null,
    token_hint: tokenHint(a.tokenPrefix, a.tokenLast4),
    last_used_at: a.lastUsedAt?.toISOString() ?? null,
    last_used_ip: a.lastUsedIp ?? null,
    last_auth_method: a.lastAuthMethod ?? null,
    created_at: a.createdAt.toISOString(),
    updated_at: a.updatedAt.toISOString(),
  };
}

export function tenantJson(t: Tenant) {
  return { id: t.id, slug: t.slug, name: t.name, timezone: t.timezone, created_at: t.createdAt.toISOString() };
}

export function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function tokenNotice(token: string): string {
  return [
    '',
    '  Token (shown once; store it now, rotate the account if it is lost):',
    '',
    `    ${token}`,
    '',
  ].join('\n');
}
