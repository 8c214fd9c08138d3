import SchemaBuilder from '@pothos/core';
import ScopeAuthPlugin, { type AuthFailure } from '@pothos/plugin-scope-auth';
import ErrorsPlugin from '@pothos/plugin-errors';
import ValidationPlugin from '@pothos/plugin-validation';
import RelayPlugin from '@pothos/plugin-relay';
import DataloaderPlugin from '@pothos/plugin-dataloader';
import ComplexityPlugin from '@pothos/plugin-complexity';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import { GraphQLError } from 'graphql';
import type { GraphQLContext } from './context';
import { InputError } from '../db/errors';

type Builder = {
  Context: GraphQLContext;
  AuthScopes: { authenticated: boolean; scope: string };
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    Date: { Input: string; Output: string };
    JSON: { Input: unknown; Output: unknown };
    UUID: { Input: string; Output: string };
    File: { Input: File; Output: never };
  };
};

function requiredScope(failure: AuthFailure): string | undefined {
  if (failure.kind === 'AuthScope' && failure.scope === 'scope') return String(failure.parameter);
  if ('failures' in failure) {
    for (const inner of failure.failures) {
      const found = requiredScope(inner);
      if (found) return found;
    }
  }
  return undefined;
}

export const builder = new SchemaBuilder<Builder>({
  defaultFieldNullability: false,
  plugins: [
    ScopeAuthPlugin,
    ErrorsPlugin,
    ValidationPlugin,
    RelayPlugin,
    DataloaderPlugin,
    ComplexityPlugin,
    SimpleObjectsPlugin,
  ],
  scopeAuth: {
    // Subscriptions check their scopes when they start, before the source stream is opened (not
    // only as each event resolves, which would leave a refused subscription open, erring per event).
    authorizeOnSubscribe: true,
    authScopes: async (ctx) => ({
      authenticated: ctx.principal !== null,
      scope: (scope: string) => ctx.principal?.scopes.has(scope) ?? false,
    }),
    unauthorizedError: (_parent, ctx, _info, result) => {
      if (!ctx.principal) {
        return new GraphQLError('Missing or invalid token.', { extensions: { code: 'UNAUTHENTICATED' } });
      }
      const scope = requiredScope(result.failure);
      return new GraphQLError(scope ? `Missing required scope: ${scope}` : 'Not allowed.', {
        extensions: { code: 'FORBIDDEN', ...(scope ? { requiredScope: scope } : {}) },
      });
    },
  },
  errors: { defaultTypes: [] },
  validation: {
    validationError: (failure) => {
      const issue = failure.issues[0];
      const field = issue?.path?.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
      return new InputError(issue?.message ?? 'Invalid input.', field || undefined);
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodesQueryOptions: false,
    // node(id) is defined in ./node.ts so that authentication runs before the id is parsed.
    nodeQueryOptions: false,
  },
  complexity: {
    defaultComplexity: 1,
    defaultListMultiplier: 10,
    limit: (ctx) => ctx.limits,
    complexityError: (kind, result) => {
      const measure = String(kind).toLowerCase() as 'complexity' | 'depth' | 'breadth';
      const max = result[`max${kind}` as 'maxComplexity'];
      return new GraphQLError(`Query ${measure} ${result[measure]} exceeds the limit of ${max}.`, {
        extensions: { code: 'QUERY_TOO_COMPLEX', limit: measure },
      });
    },
  },
});

builder.queryType({});
builder.mutationType({});
builder.subscriptionType({});
