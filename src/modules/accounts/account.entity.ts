import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { AuthMethod } from '../../platform/auth';

/** Stored status; `expired` is derived from expiresAt when read (see effectiveStatus). */
export type StoredAccountStatus = 'active' | 'paused' | 'revoked';
export type AccountStatus = StoredAccountStatus | 'expired';

export const AccountSchema = defineEntity({
  name: 'Account',
  tableName: 'accounts',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    name: p.text(),
    description: p.text().nullable(),
    owner: p.text().nullable(),
    scopes: p.array().columnType('text[]'),
    status: p.text().$type<StoredAccountStatus>(),
    expiresAt: p.datetime().nullable(),
    // Only the SHA-256 of the token, its first 12 and last 4 characters are ever stored.
    tokenHash: p.text().hidden(),
    tokenPrefix: p.text(),
    tokenLast4: p.text(),
    lastUsedAt: p.datetime().nullable(),
    lastUsedIp: p.text().nullable(),
    lastAuthMethod: p.text().$type<AuthMethod>().nullable(),
    rotatedAt: p.datetime().nullable(),
    pausedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  }),
});

export type Account = InferEntity<typeof AccountSchema>;

/** Precedence as in the seed: revoked > expired > paused > active. */
export function effectiveStatus(account: Pick<Account, 'status' | 'expiresAt'>, now = new Date()): AccountStatus {
  if (account.status === 'revoked') return 'revoked';
  if (account.expiresAt && account.expiresAt.getTime() <= now.getTime()) return 'expired';
  return account.status;
}
