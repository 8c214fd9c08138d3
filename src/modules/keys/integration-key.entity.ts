import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { Provider } from './providers';

export type IntegrationKeyStatus = 'active' | 'invalid' | 'revoked';

export const IntegrationKeySchema = defineEntity({
  name: 'IntegrationKey',
  tableName: 'integration_keys',
  properties: (p) => ({
    tenantId: p.uuid().primary(),
    id: p.uuid().primary(),
    provider: p.text().$type<Provider>(),
    status: p.text().$type<IntegrationKeyStatus>(),
    label: p.text().nullable(),
    // Gone (null) once revoked: a revoked key is an audit row.
    keyCiphertext: p.blob().nullable().hidden(),
    keyHint: p.text(),
    metadata: p.json<Record<string, unknown>>(),
    lastVerifiedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    version: p.integer().version(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p.datetime().onCreate(() => new Date()).onUpdate(() => new Date()),
  }),
});

export type IntegrationKey = InferEntity<typeof IntegrationKeySchema>;
