import { builder } from '../../graphql/builder';
import { principalOf } from '../../graphql/context';
import { registerNodeLoader } from '../../graphql/node';
import { InputError, NotFoundError } from '../../db/errors';
import { actorOf } from '../../platform/auth';
import type { IntegrationKey } from './integration-key.entity';
import type { IntegrationKeyService, StoredKey, Verification } from './integration-key.service';
import { PROVIDERS } from './providers';

declare module '../../platform/services' {
  interface Services {
    integrationKeys: IntegrationKeyService;
  }
}

const read = { scope: 'agents:read' } as const;
const write = { scope: 'agents:write' } as const;
const upper = (value: string) => value.toUpperCase() as never;

const ProviderEnum = builder.enumType('IntegrationProvider', {
  values: PROVIDERS.map((p) => p.toUpperCase()) as ['CLOUDFLARE'],
});
const StatusEnum = builder.enumType('IntegrationKeyStatus', { values: ['ACTIVE', 'INVALID', 'REVOKED'] as const });

registerNodeLoader('IntegrationKey', (ctx, id) => ctx.services.integrationKeys.findById(principalOf(ctx).tenantId, id));

const IntegrationKeyRef = builder.node(builder.objectRef<IntegrationKey>('IntegrationKey'), {
  description: 'A provider credential. Only its last four characters are ever shown.',
  authScopes: read,
  id: { resolve: (k) => k.id },
  fields: (t) => ({
    uuid: t.expose('id', { type: 'UUID' }),
    provider: t.field({ type: ProviderEnum, resolve: (k) => upper(k.provider) }),
    status: t.field({ type: StatusEnum, resolve: (k) => upper(k.status) }),
    label: t.exposeString('label', { nullable: true }),
    keyHint: t.exposeString('keyHint'),
    metadata: t.field({ type: 'JSON', resolve: (k) => k.metadata }),
    lastVerifiedAt: t.expose('lastVerifiedAt', { type: 'DateTime', nullable: true }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const StoredKeyRef = builder.objectRef<StoredKey>('StoreIntegrationKeyPayload').implement({
  fields: (t) => ({
    integrationKey: t.field({ type: IntegrationKeyRef, resolve: (s) => s.integrationKey }),
    replaced: t.exposeBoolean('replaced', { description: 'True when an earlier key for the provider was revoked.' }),
  }),
});

const VerificationRef = builder.objectRef<Verification>('IntegrationKeyVerification').implement({
  fields: (t) => ({
    valid: t.exposeBoolean('valid'),
    reason: t.exposeString('reason', { nullable: true, description: 'auth_failed or provider_unavailable' }),
    lastVerifiedAt: t.expose('lastVerifiedAt', { type: 'DateTime', nullable: true }),
  }),
});

const StoreInput = builder.inputType('StoreIntegrationKeyInput', {
  fields: (t) => ({
    provider: t.field({ type: ProviderEnum, required: true }),
    key: t.string({ required: true }),
    label: t.string(),
    metadata: t.field({ type: 'JSON' }),
  }),
});

builder.queryField('integrationKeys', (t) =>
  t.field({
    type: [IntegrationKeyRef],
    description: 'Every key, revoked ones included, newest first.',
    authScopes: read,
    resolve: (_root, _args, ctx) => ctx.services.integrationKeys.list(principalOf(ctx).tenantId),
  }),
);

builder.mutationFields((t) => ({
  storeIntegrationKey: t.field({
    type: StoredKeyRef,
    authScopes: write,
    args: { input: t.arg({ type: StoreInput, required: true }) },
    errors: { types: [InputError], directResult: true, union: { name: 'StoreIntegrationKeyResult' } },
    resolve: (_root, { input }, ctx) =>
      ctx.services.integrationKeys.store(actorOf(principalOf(ctx)), {
        provider: String(input.provider).toLowerCase() as never,
        key: input.key,
        label: input.label,
        metadata: input.metadata ?? undefined,
      }),
  }),
  revokeIntegrationKey: t.field({
    type: IntegrationKeyRef,
    authScopes: write,
    args: { provider: t.arg({ type: ProviderEnum, required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'RevokeIntegrationKeyResult' } },
    resolve: (_root, { provider }, ctx) =>
      ctx.services.integrationKeys.revoke(actorOf(principalOf(ctx)), String(provider).toLowerCase()),
  }),
  verifyIntegrationKey: t.field({
    type: VerificationRef,
    authScopes: write,
    args: { provider: t.arg({ type: ProviderEnum, required: true }) },
    errors: { types: [NotFoundError], directResult: true, union: { name: 'VerifyIntegrationKeyResult' } },
    resolve: (_root, { provider }, ctx) =>
      ctx.services.integrationKeys.verify(actorOf(principalOf(ctx)), String(provider).toLowerCase()),
  }),
}));
