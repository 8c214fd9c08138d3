import { brandWithType } from '@pothos/core';
import { decodeGlobalID } from '@pothos/plugin-relay';
import { builder } from './builder';
import type { GraphQLContext } from './context';

/**
 * `node(id)`, written here rather than by the relay plugin so that authentication runs before
 * the id is looked at, plain UUIDs work as well as global ids, and an id that names nothing
 * (garbage, another type, another tenant's row) is simply null.
 */
type NodeLoader = (ctx: GraphQLContext, id: string) => Promise<object | null>;

const loaders = new Map<string, NodeLoader>();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Modules register how to load each of their node types for the tenant of the context. */
export function registerNodeLoader(typename: string, load: NodeLoader): void {
  loaders.set(typename, load);
}

function decode(id: string): { typename?: string; id: string } | null {
  if (UUID.test(id)) return { id: id.toLowerCase() };
  try {
    const decoded = decodeGlobalID(id);
    return UUID.test(decoded.id) ? { typename: decoded.typename, id: decoded.id.toLowerCase() } : null;
  } catch {
    return null;
  }
}

builder.queryField('node', (t) =>
  t.field({
    type: builder.nodeInterfaceRef(),
    nullable: true,
    description: 'Any entity by its global id or its UUID; null when it does not exist for this tenant.',
    args: { id: t.arg.id({ required: true }) },
    authScopes: { authenticated: true },
    resolve: async (_root, args, ctx) => {
      const key = decode(String(args.id));
      if (!key) return null;
      const candidates = key.typename ? [key.typename] : [...loaders.keys()];
      for (const typename of candidates) {
        const load = loaders.get(typename);
        const found = load ? await load(ctx, key.id) : null;
        if (found) {
          brandWithType(found, typename as never);
          return found as never;
        }
      }
      return null;
    },
  }),
);
