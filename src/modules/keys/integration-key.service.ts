import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Orm } from '../../db/orm';
import { inTenant, type TenantEm } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';
import type { SecretBox } from '../../platform/secret-box';
import { recordAudit } from '../audit/audit.service';
import { IntegrationKeySchema, type IntegrationKey } from './integration-key.entity';
import { checkOutboundUrl, createSafeFetch, OutboundError, type SafeFetchOptions } from '../../platform/outbound/safe-fetch';
import { PROVIDERS, tenantUrlField, validateProviderMetadata, verifyIntegrationKey, type Provider } from './providers';

const storeInput = z.object({
  provider: z.enum(PROVIDERS, { message: `provider must be one of ${PROVIDERS.join(', ')}` }),
  key: z.string().min(8, 'key must be at least 8 characters').max(4096),
  label: z.string().trim().max(200).nullish(),
  metadata: z.unknown().optional(),
});
export type StoreIntegrationKeyInput = z.input<typeof storeInput>;

export type StoredKey = { integrationKey: IntegrationKey; replaced: boolean };
export type Verification = { valid: boolean; reason: 'auth_failed' | 'provider_unavailable' | null; lastVerifiedAt: Date | null };

export type VerifierOptions = Omit<Parameters<typeof verifyIntegrationKey>[1], 'fetch' | 'tenantFetch'>;

const keyLocation = (k: IntegrationKey) => ({ tenantId: k.tenantId, table: 'integration_keys', rowId: k.id, column: 'key_ciphertext' });

function parseProvider(provider: string): Provider {
  if (!(PROVIDERS as readonly string[]).includes(provider)) throw new NotFoundError('Integration key');
  return provider as Provider;
}

export class IntegrationKeyService {
  constructor(
    private readonly deps: {
      orm: Orm;
      secrets: SecretBox;
      verifier: VerifierOptions;
      /** The outbound guard for tenant-chosen base URLs. */
      outbound: SafeFetchOptions;
    },
  ) {}

  /** First store creates; a second store for the provider revokes the previous key in the same transaction. */
  async store(actor: Actor, input: StoreIntegrationKeyInput): Promise<StoredKey> {
    const parsed = storeInput.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InputError(issue.message, issue.path.join('.') || undefined);
    }
    const { provider, key, label } = parsed.data;
    const metadata = validateProviderMetadata(provider, parsed.data.metadata ?? {}, { allowHttp: this.deps.outbound.policy.allowHttp });
    await this.checkTenantUrl(provider, metadata);
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      await em.execute('select pg_advisory_xact_lock(hashtext(?), hashtext(?))', [actor.tenantId, `integration:${provider}`]);
      const previous = await this.current(em, provider);
      if (previous) {
        this.revokeRow(previous);
        // The partial unique index allows one current key per provider: revoke before insert.
        await em.flush();
      }
      const stored = em.create(IntegrationKeySchema, {
        tenantId: actor.tenantId,
        id: randomUUID(),
        provider,
        status: 'active',
        label: label ?? null,
        keyHint: key.slice(-4),
        metadata,
      } as IntegrationKey);
      stored.keyCiphertext = await this.deps.secrets.encrypt(em, keyLocation(stored), key);
      em.persist(stored);
      recordAudit(em, actor, {
        action: previous ? 'integration_key.replace' : 'integration_key.store',
        targetType: 'integration_key',
        targetId: provider,
        detail: { keyHint: stored.keyHint, replacedKeyHint: previous?.keyHint ?? null },
      });
      await em.flush();
      return { integrationKey: stored, replaced: Boolean(previous) };
    });
  }

  /** Every key of the tenant, revoked ones included (they are the audit trail), newest first. */
  async list(tenantId: string): Promise<IntegrationKey[]> {
    return inTenant(this.deps.orm, tenantId, (em) =>
      em.find(IntegrationKeySchema, {}, { orderBy: { createdAt: 'desc', id: 'desc' } }),
    );
  }

  async findById(tenantId: string, id: string): Promise<IntegrationKey | null> {
    if (!isUuid(id)) return null;
    return inTenant(this.deps.orm, tenantId, (em) => em.findOne(IntegrationKeySchema, { id }));
  }

  /** The provider's active or invalid key. */
  async get(tenantId: string, provider: string): Promise<IntegrationKey> {
    const p = parseProvider(provider);
    const found = await inTenant(this.deps.orm, tenantId, (em) => this.current(em, p));
    if (!found) throw new NotFoundError('Integration key');
    return found;
  }

  async revoke(actor: Actor, provider: string): Promise<IntegrationKey> {
    const p = parseProvider(provider);
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const found = await this.current(em, p);
      if (!found) throw new NotFoundError('Integration key');
      this.revokeRow(found);
      recordAudit(em, actor, {
        action: 'integration_key.revoke',
        targetType: 'integration_key',
        targetId: p,
        detail: { keyHint: found.keyHint },
      });
      await em.flush();
      return found;
    });
  }

  /**
   * Calls the provider. A rejection marks the key invalid, a pass marks it active; an outage
   * answers not-valid without touching the status.
   */
  async verify(actor: Actor, provider: string): Promise<Verification> {
    const p = parseProvider(provider);
    const { key, stored } = await inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const found = await this.current(em, p);
      if (!found?.keyCiphertext) throw new NotFoundError('Integration key');
      return { stored: found, key: await this.deps.secrets.decrypt(em, keyLocation(found), Buffer.from(found.keyCiphertext)) };
    });
    // The provider call happens outside any transaction: no connection is held while we wait.
    const { timeoutMs } = this.deps.verifier;
    const tenantFetch = createSafeFetch({ ...this.deps.outbound, headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
    const result = await verifyIntegrationKey({ provider: p, key, metadata: stored.metadata }, { ...this.deps.verifier, tenantFetch }).finally(
      () => tenantFetch.close(),
    );
    return inTenant(this.deps.orm, actor.tenantId, async (em) => {
      const row = await em.findOne(IntegrationKeySchema, { id: stored.id });
      // Revoked or replaced meanwhile: report the outcome, change nothing.
      const live = row && row.status !== 'revoked' ? row : null;
      if (live && result.outcome !== 'unavailable') {
        live.status = result.outcome === 'valid' ? 'active' : 'invalid';
        live.lastVerifiedAt = new Date();
      }
      recordAudit(em, actor, {
        action: 'integration_key.verify',
        targetType: 'integration_key',
        targetId: p,
        detail: { outcome: result.outcome, keyHint: stored.keyHint },
      });
      await em.flush();
      return {
        valid: result.outcome === 'valid',
        reason: result.outcome === 'valid' ? null : result.reason,
        lastVerifiedAt: (live ?? stored).lastVerifiedAt ?? null,
      };
    });
  }

  /** A tenant-chosen base URL must pass the outbound guard before it is stored. */
  private async checkTenantUrl(provider: Provider, metadata: Record<string, unknown>): Promise<void> {
    const field = tenantUrlField(provider);
    if (!field || typeof metadata[field] !== 'string') return;
    try {
      await checkOutboundUrl(metadata[field] as string, this.deps.outbound.policy, this.deps.outbound.resolve);
    } catch (err) {
      if (err instanceof OutboundError) throw new InputError(`metadata.${field} refused: ${err.message}`, `metadata.${field}`);
      throw err;
    }
  }

  private current(em: TenantEm, provider: Provider): Promise<IntegrationKey | null> {
    return em.findOne(IntegrationKeySchema, { provider, status: { $ne: 'revoked' } });
  }

  private revokeRow(row: IntegrationKey): void {
    Object.assign(row, { status: 'revoked', keyCiphertext: null, revokedAt: new Date() });
  }
}
