import type { Route } from '../../platform/rest';
import { SCOPES } from './scopes';

export const accountRoutes: Route[] = [
  {
    method: 'GET',
    path: '/agents/v1/auth/whoami',
    scope: 'auth:read',
    handler: ({ principal, requestId }) => {
      const p = principal!;
      return {
        status: 200,
        body: {
          service: 'runlane',
          generatedAt: new Date().toISOString(),
          requestId,
          principal: {
            accountId: p.accountId,
            name: p.accountName,
            tenant: { id: p.tenantId, slug: p.tenantSlug },
            credentialSource: 'account',
            authMethod: p.authMethod,
            tokenFingerprint: p.tokenFingerprint,
          },
          authorization: { grantedScopes: [...p.scopes].sort(), availableScopes: [...SCOPES] },
        },
      };
    },
  },
];
