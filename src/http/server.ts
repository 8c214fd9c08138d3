import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Services } from '../platform/services';
import type { GraphQLContext } from '../graphql/context';
import { createGraphQLDoor } from './graphql';
import { createRestRouter, errorBody, requestIdOf, sendError, sendJson, type Authenticate } from './rest';
import { restRoutes } from './routes';
import { createJobLogSocket, JOB_LOG_STREAM } from './job-log-socket';

export type HttpDeps = {
  services: Services;
  authenticate: Authenticate;
  accountChanges: (handler: (accountId: string) => void) => Promise<() => Promise<void>>;
  limits: GraphQLContext['limits'];
  graphiql: boolean;
  onError: (err: unknown, requestId?: string) => void;
};

export type HttpServer = {
  server: Server;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
};

/** One node:http server for REST, GraphQL over HTTP and GraphQL over WebSocket. */
export function createHttpServer(deps: HttpDeps): HttpServer {
  const graphql = createGraphQLDoor(deps);
  const rest = createRestRouter({ ...deps, routes: restRoutes });

  const server = createServer(async (req, res) => {
    const requestId = requestIdOf(req, randomUUID);
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/healthz') {
        // For load balancers: the process is up and serving. No authentication, no I/O.
        sendJson(res, 200, { status: 'ok' }, requestId);
        return;
      }
      if (path === '/readyz') {
        const report = await deps.services.health.readiness();
        sendJson(res, report.ready ? 200 : 503, { ready: report.ready, score: report.readinessScore, deductions: report.deductions }, requestId);
        return;
      }
      if (path === '/graphql' || path?.startsWith('/graphql/')) {
        res.setHeader('x-request-id', requestId);
        await graphql.yoga.handle(req, res, { req, requestId });
        return;
      }
      if (await rest.handle(req, res, requestId)) return;
      sendJson(res, 404, errorBody('NOT_FOUND', `No route for ${req.method} ${path}.`, requestId), requestId);
    } catch (err) {
      sendError(res, err, requestId, deps.onError);
    }
  });
  server.keepAliveTimeout = 65_000;
  const ws = graphql.attachWebSocket();
  const jobLogs = createJobLogSocket(deps);
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/graphql') return ws.handleUpgrade(req, socket, head);
    const job = JOB_LOG_STREAM.exec(url.pathname);
    if (job) return jobLogs.handleUpgrade(req, socket, head, job[1]!, url.searchParams);
    socket.destroy();
  });

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: async () => {
      await ws.close();
      await jobLogs.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
    },
  };
}
