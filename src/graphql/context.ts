import type { Principal } from '../platform/auth';

import type { Services } from '../platform/services';

/** What every resolver receives. */
export type GraphQLContext = {
  requestId: string;
  /** Null when no token was sent or the token was refused. */
  principal: Principal | null;
  services: Services;
  limits: { complexity: number; depth: number; breadth: number };
};

/** The principal of an authenticated context; scope-auth has already run when this is called. */
export function principalOf(ctx: GraphQLContext): Principal {
  if (!ctx.principal) throw new Error('principalOf called on an unauthenticated context');
  return ctx.principal;
}
