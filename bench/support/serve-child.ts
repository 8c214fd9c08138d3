/**
 * A Runlane API server in its own process, for benches: the load generator must not share
 * its event loop or CPU. Started by bench/*.bench.ts with child_process.fork.
 *
 * Env in:  DATABASE_URL (as runlane_app), any other Runlane setting (RUNLANE_AUTH_CACHE_MS, …),
 *          BENCH_TENANT_SLUG (optional), BENCH_AUTH_STUB=1 (diagnostic: every token check is
 *          replaced by a constant principal, so the REST route is measured without authentication).
 * IPC out: { type: 'ready', port, token, tenantId, accountId } once listening, or
 *          { type: 'error', message }.
 * IPC in:  { type: 'cpu', id } answers { type: 'cpu', id, micros } (user + system CPU time so far);
 *          { type: 'stop' } closes the server and exits 0 (so --cpu-prof gets written).
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../../src/config/config';
import { keyring } from '../../src/platform/crypto';
import { createApp, createAppHttpServer, type App } from '../../src/app';
import { createHttpServer, type HttpServer } from '../../src/http/server';
import { createLogger } from '../../src/platform/log';
import { SCOPES } from '../../src/modules/accounts/scopes';

export type ChildMessage =
  | { type: 'ready'; port: number; token: string; tenantId: string; accountId: string }
  | { type: 'cpu'; id: number; micros: number }
  | { type: 'error'; message: string };

export type ParentMessage = { type: 'stop' } | { type: 'cpu'; id: number };

function send(message: ChildMessage): void {
  process.send?.(message);
}

let app: App | undefined;
let http: HttpServer | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    // Open keep-alive sockets of the load generator would keep server.close() waiting.
    http?.server.closeAllConnections();
    await http?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
  }
  process.exit(code);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('serve-child must be started with child_process.fork (IPC channel).');
  const config = loadConfig({ RUNLANE_ENV: 'test', LOG_LEVEL: 'silent', ...process.env, HOST: '127.0.0.1', PORT: '0' });
  if (!config.database.url) throw new Error('DATABASE_URL is required.');
  app = await createApp({
    config,
    databaseUrl: config.database.url,
    keyring: keyring(randomBytes(32)),
    log: createLogger(config.logLevel),
  });

  const slug = process.env.BENCH_TENANT_SLUG ?? `bench-${randomBytes(4).toString('hex')}`;
  const created = await app.services.tenants.create({ slug });
  const actor = { tenantId: created.tenant.id, accountId: created.account.id, name: 'bench', scopes: new Set<string>(SCOPES) };
  const reader = await app.services.accounts.create(actor, {
    name: 'bench reader',
    description: 'Read-only account for bench:auth',
    scopes: ['health:read', 'readiness:read', 'auth:read'],
  });

  if (process.env.BENCH_AUTH_STUB === '1') {
    // Same server as createAppHttpServer, but authentication answers a fixed principal (the
    // reader's, resolved once for real): what remains is the cost of the route itself.
    const principal = await app.authenticator.authenticate(reader.token, { ip: '127.0.0.1', method: 'authorization' });
    const a = app;
    http = createHttpServer({
      services: a.services,
      authenticate: async (_token, context) => ({ ...principal, authMethod: context.method }),
      accountChanges: async () => async () => {},
      limits: { complexity: a.config.graphql.maxComplexity, depth: a.config.graphql.maxDepth, breadth: 200 },
      graphiql: a.config.graphql.graphiql,
      onError: (err, requestId) => a.log.error({ err, requestId }, 'request failed'),
    });
  } else {
    http = createAppHttpServer(app);
  }
  const port = await http.listen(0, '127.0.0.1');
  send({ type: 'ready', port, token: reader.token, tenantId: created.tenant.id, accountId: reader.account.id });
}

process.on('message', (message: ParentMessage) => {
  if (message?.type === 'stop') void stop(0);
  if (message?.type === 'cpu') {
    const { user, system } = process.cpuUsage();
    send({ type: 'cpu', id: message.id, micros: user + system });
  }
});
// The parent went away (crash, Ctrl-C): do not linger holding database connections.
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  void stop(1);
});
