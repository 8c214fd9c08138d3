import type { Orm } from '../../db/orm';
import { callDefiner, inTenant } from '../../db/tenant-transaction';
import { UnauthenticatedError } from '../../db/errors';
import type { Bus } from '../../platform/bus';
import type { AuthMethod, Principal } from '../../platform/auth';
import { AccountSchema, effectiveStatus } from './account.entity';
import { ACCOUNT_CHANGED, type AccountChanged } from './account.service';
import { TenantSchema } from './tenant.entity';
import { isScope } from './scopes';
import { hashToken, isWellFormedToken, tokenFingerprint } from './token';


type CachedIdentity = {
  tenantId: string;
  tenantSlug: string;
  accountId: string;
  accountName: string;
  scopes: ReadonlySet<string>;
  expiresAt: Date | null;
  tokenHash: string;
  cachedUntil: number;
  usage: { at: number; ip: string | null; method: AuthMethod | null };
};

// Usage columns are written at most this often per account, unless the IP or method changes.
const USAGE_WRITE_INTERVAL_MS = 60_000;

/**
 * Resolves a bearer token to a principal. Identities are cached for a short time per process;
 * any change to an account (rotate, pause, revoke, scopes, delete) evicts it here at once and,
 * through the bus, in every other process, so the cache only bounds how long a lost bus message
 * could keep a dead token alive.
 */
export class Authenticator {
  private readonly byHash = new Map<string, CachedIdentity>();
  /** One database load per token at a time; concurrent requests for it share the result. */
  private readonly loading = new Map<string, Promise<CachedIdentity>>();
  /** Bumped by every eviction: a load that started before one is used once, never cached. */
  private generation = 0;
  private unsubscribe?: () => Promise<void>;

  constructor(
    private readonly deps: { orm: Orm; bus: Bus; cacheMs: number; onError?: (err: unknown) => void },
  ) {}

  async start(): Promise<void> {
    this.unsubscribe = await this.deps.bus.subscribe(ACCOUNT_CHANGED, (message) => {
      const { accountId } = message as AccountChanged;
      if (typeof accountId === 'string') this.evictAccount(accountId);
    });
  }

  async stop(): Promise<void> {
    await this.unsubscribe?.();
    this.byHash.clear();
  }

  evictAccount(accountId: string): void {
    this.generation++;
    // Loads in flight may have read the account before the change committed.
    this.loading.clear();
    for (const [hash, identity] of this.byHash) {
      if (identity.accountId === accountId) this.byHash.delete(hash);
    }
  }

  authenticate(token: string, context: { ip: string | null; method: AuthMethod }): Promise<Principal> {
    // Hot path: a cached identity needs one hash and a map lookup, nothing asynchronous.
    const hash = hashToken(token);
    const now = Date.now();
    const cached = this.byHash.get(hash);
    if (cached && cached.cachedUntil > now && !this.usageIsStale(cached, context, now)) {
      return this.expired(cached, hash, now) ?? Promise.resolve(this.principal(cached, hash, context));
    }
    return this.authenticateSlowly(token, hash, context, now);
  }

  private async authenticateSlowly(
    token: string,
    hash: string,
    context: { ip: string | null; method: AuthMethod },
    now: number,
  ): Promise<Principal> {
    let identity = this.byHash.get(hash);
    if (!identity || identity.cachedUntil <= now) {
      // The checksum turns garbage away before it costs a database round trip.
      if (!isWellFormedToken(token)) throw new UnauthenticatedError();
      this.byHash.delete(hash);
      const generation = this.generation;
      let pending = this.loading.get(hash);
      if (!pending) {
        const started = this.load(hash, now).finally(() => {
          if (this.loading.get(hash) === started) this.loading.delete(hash);
        });
        pending = started;
        this.loading.set(hash, pending);
      }
      identity = await pending;
      if (this.deps.cacheMs > 0 && generation === this.generation) this.byHash.set(hash, identity);
    }
    const expired = this.expired(identity, hash, now);
    if (expired) return expired;
    await this.recordUsage(identity, context, now);
    return this.principal(identity, hash, context);
  }

  private expired(identity: CachedIdentity, hash: string, now: number): Promise<never> | undefined {
    if (!identity.expiresAt || identity.expiresAt.getTime() > now) return undefined;
    this.byHash.delete(hash);
    return Promise.reject(new UnauthenticatedError());
  }

  private principal(identity: CachedIdentity, hash: string, context: { method: AuthMethod }): Principal {
    return {
      tenantId: identity.tenantId,
      tenantSlug: identity.tenantSlug,
      accountId: identity.accountId,
      accountName: identity.accountName,
      scopes: identity.scopes,
      authMethod: context.method,
      tokenFingerprint: tokenFingerprint(hash),
    };
  }

  private async load(hash: string, now: number): Promise<CachedIdentity> {
    const matches = await callDefiner<{ tenant_id: string; account_id: string }>(
      this.deps.orm,
      'select tenant_id, account_id from runlane_authenticate(?)',
      [hash],
    );
    if (matches.length !== 1) throw new UnauthenticatedError();
    const { tenant_id: tenantId, account_id: accountId } = matches[0]!;
    return inTenant(this.deps.orm, tenantId, async (em) => {
      const [account, tenant] = await Promise.all([
        em.findOne(AccountSchema, { id: accountId }),
        em.findOne(TenantSchema, { id: tenantId }),
      ]);
      // Re-check the hash: the account may have been rotated between the two queries.
      if (!account || !tenant || account.tokenHash !== hash) throw new UnauthenticatedError();
      if (effectiveStatus(account, new Date(now)) !== 'active') throw new UnauthenticatedError();
      return {
        tenantId,
        tenantSlug: tenant.slug,
        accountId,
        accountName: account.name,
        scopes: new Set(account.scopes.filter(isScope)),
        expiresAt: account.expiresAt ?? null,
        tokenHash: hash,
        cachedUntil: now + this.deps.cacheMs,
        usage: {
          at: account.lastUsedAt?.getTime() ?? 0,
          ip: account.lastUsedIp ?? null,
          method: account.lastAuthMethod ?? null,
        },
      };
    });
  }

  private usageIsStale(identity: CachedIdentity, context: { ip: string | null; method: AuthMethod }, now: number): boolean {
    const { usage } = identity;
    return now - usage.at >= USAGE_WRITE_INTERVAL_MS || usage.ip !== context.ip || usage.method !== context.method;
  }

  private async recordUsage(
    identity: CachedIdentity,
    context: { ip: string | null; method: AuthMethod },
    now: number,
  ): Promise<void> {
    if (!this.usageIsStale(identity, context, now)) return;
    identity.usage = { at: now, ip: context.ip, method: context.method };
    try {
      await inTenant(this.deps.orm, identity.tenantId, (em) =>
        em.execute(
          'update accounts set last_used_at = ?, last_used_ip = ?, last_auth_method = ? where id = ?',
          [new Date(now), context.ip, context.method, identity.accountId],
        ),
      );
    } catch (err) {
      // Usage metadata is best effort; never fail a request over it.
      this.deps.onError?.(err);
    }
  }
}
