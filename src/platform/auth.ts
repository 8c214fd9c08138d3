/**
 * Who is calling, once a token has been checked. Every door (GraphQL, REST, WebSocket)
 * carries the same principal; services receive its tenant and scopes as plain values.
 */
export type AuthMethod = 'authorization' | 'x-runlane-token' | 'websocket';

export type Principal = {
  tenantId: string;
  tenantSlug: string;
  accountId: string;
  accountName: string;
  scopes: ReadonlySet<string>;
  authMethod: AuthMethod;
  tokenFingerprint: string;
};

/** Who performs an operation, as services see it: a tenant, an account (absent for the operator CLI), its scopes. */
export type Actor = { tenantId: string; accountId?: string; name: string; scopes: ReadonlySet<string> };

export function actorOf(principal: Principal): Actor {
  return { tenantId: principal.tenantId, accountId: principal.accountId, name: principal.accountName, scopes: principal.scopes };
}

export type TokenSource = { token: string; method: AuthMethod };

/** Reads the token from `Authorization: Bearer …` or `X-Runlane-Token`, in that order. */
export function tokenFromHeaders(headers: {
  authorization?: string | null;
  xRunlaneToken?: string | null;
}): TokenSource | null {
  const authorization = headers.authorization?.trim();
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    // A malformed Authorization header is a bad token, not a missing one.
    return { token: match?.[1] ?? '', method: 'authorization' };
  }
  const custom = headers.xRunlaneToken?.trim();
  if (custom) return { token: custom, method: 'x-runlane-token' };
  return null;
}
