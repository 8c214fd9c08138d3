import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError } from 'graphql';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { WebSocketServer, type WebSocket } from 'ws';
import { DomainError } from '../db/errors';
import type { GraphQLContext } from '../graphql/context';
import { tokenFromHeaders, type Principal } from '../platform/auth';
import type { Services } from '../platform/services';
import { useCompiledSubscriptionEvents } from './compiled-subscription-events';
import { serveGraphqlWs } from './graphql-ws-server';
import { graphqlSchema } from './schema';
import { clientIp, type Authenticate } from './rest';

type ServerContext = { req: IncomingMessage; requestId: string; wsPrincipal?: Principal | null };

export type GraphQLDoor = {
  yoga: YogaServerInstance<ServerContext, GraphQLContext>;
  /** graphql-ws on /graphql: the HTTP server hands it the upgrades of that path. */
  attachWebSocket(): { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void; close(): Promise<void>; sockets(): Set<WebSocket> };
};

const domainCodes: Record<string, string> = {
  INVALID_REQUEST: 'BAD_USER_INPUT',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
};

export function createGraphQLDoor(deps: {
  services: Services;
  authenticate: Authenticate;
  /** Announcements that an account's tokens or grants changed (ACCOUNT_CHANGED on the bus). */
  accountChanges: (handler: (accountId: string) => void) => Promise<() => Promise<void>>;
  limits: GraphQLContext['limits'];
  graphiql: boolean;
  onError: (err: unknown, requestId?: string) => void;
}): GraphQLDoor {
  async function principalFromToken(token: string, ip: string | null, method: Principal['authMethod']) {
    try {
      return await deps.authenticate(token, { ip, method });
    } catch (err) {
      if (!(err instanceof DomainError)) deps.onError(err);
      return null;
    }
  }

  /** What clients see of an error: ours with its code, GraphQL's own as they are, anything else as an opaque internal error (reported to onError). */
  function maskError(error: unknown): GraphQLError {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError?.originalError ?? error;
    if (original instanceof DomainError) {
      return new GraphQLError(original.message, {
        nodes: graphqlError?.nodes,
        path: graphqlError?.path,
        extensions: { code: domainCodes[original.code] ?? original.code },
      });
    }
    // Errors we raised on purpose (auth, complexity, parse and validation) pass through.
    if (graphqlError && (!graphqlError.originalError || graphqlError.originalError instanceof GraphQLError)) {
      return graphqlError;
    }
    deps.onError(original);
    return new GraphQLError('Unexpected error.', {
      nodes: graphqlError?.nodes,
      path: graphqlError?.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  }

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: graphqlSchema(),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    plugins: [useCompiledSubscriptionEvents(maskError)],
    graphiql: deps.graphiql ? { subscriptionsProtocol: 'WS', title: 'Runlane' } : false,
    logging: false,
    maskedErrors: { maskError },
    context: async ({ req, requestId, wsPrincipal }): Promise<GraphQLContext> => {
      let principal: Principal | null = wsPrincipal ?? null;
      if (wsPrincipal === undefined) {
        const source = tokenFromHeaders({
          authorization: req.headers.authorization,
          xRunlaneToken: req.headers['x-runlane-token'] as string | undefined,
        });
        if (source) principal = await principalFromToken(source.token, clientIp(req), source.method);
      }
      return { requestId, principal, services: deps.services, limits: deps.limits };
    },
  });

  function attachWebSocket() {
    const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
    // Who each socket authenticated as, to check again when that account changes.
    const credentials = new WeakMap<WebSocket, { accountId: string; token: string; ip: string | null }>();
    const detachAccounts = deps.accountChanges((accountId) => {
      for (const socket of wss.clients) {
        const held = credentials.get(socket);
        if (held?.accountId !== accountId) continue;
        // Paused, revoked, expired, deleted or rotated: a token that no longer authenticates
        // loses its open socket and every subscription on it.
        void principalFromToken(held.token, held.ip, 'websocket').then((principal) => {
          if (!principal) socket.close(4403, 'Forbidden');
        });
      }
    });

    type Extra = { request: IncomingMessage; socket: WebSocket; principal?: Principal };
    serveGraphqlWs<Record<string, unknown>, Extra>(
      wss,
      {
        execute: (args: any) => args.rootValue.execute(args),
        subscribe: (args: any) => args.rootValue.subscribe(args),
        // connection_init must carry a valid token; anything else closes the socket with 4403.
        onConnect: async (ctx) => {
          const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
          if (typeof raw !== 'string') return false;
          const token = /^Bearer\s+(\S+)$/i.exec(raw.trim())?.[1] ?? raw.trim();
          const ip = clientIp(ctx.extra.request);
          const principal = await principalFromToken(token, ip, 'websocket');
          if (!principal) return false;
          ctx.extra.principal = principal;
          credentials.set(ctx.extra.socket, { accountId: principal.accountId, token, ip });
          return true;
        },
        onSubscribe: async (ctx, _id, params) => {
          const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
            req: ctx.extra.request,
            requestId: crypto.randomUUID(),
            wsPrincipal: ctx.extra.principal ?? null,
            params,
          });
          let document;
          try {
            document = parse(params.query);
          } catch (err) {
            return [err instanceof GraphQLError ? err : new GraphQLError('Could not parse the document.')];
          }
          const errors = validate(schema, document);
          if (errors.length > 0) return errors;
          return {
            schema,
            operationName: params.operationName,
            document,
            variableValues: params.variables,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe },
          };
        },
      },
      { onError: deps.onError },
    );
    return {
      handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)),
      sockets: () => wss.clients,
      close: async () => {
        await (await detachAccounts)();
        await new Promise<void>((resolve) => {
          for (const client of wss.clients) client.close(1001, 'Server shutting down');
          wss.close(() => resolve());
        });
      },
    };
  }

  return { yoga, attachWebSocket };
}
