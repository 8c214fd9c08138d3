import { loadConfig } from '../../src/config/config';
import { createApp, createAppHttpServer, type App } from '../../src/app';
import { createLogger } from '../../src/platform/log';
import { keyring, type MasterKeyring } from '../../src/platform/crypto';
import { randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from './database';
import { redisUrl } from './env';

export type TestServer = {
  app: App;
  db: TestDatabase;
  url: string;
  port: number;
  /** Creates a tenant and returns its owner token. */
  tenant(slug?: string): Promise<{ tenantId: string; slug: string; token: string; accountId: string }>;
  close(): Promise<void>;
};

let counter = 0;

/** A real Runlane API on a fresh database and a random port. */
export async function startTestServer(
  options: {
    redis?: boolean;
    db?: TestDatabase;
    env?: Record<string, string>;
    keyring?: MasterKeyring;
    outbound?: Parameters<typeof createApp>[0]['outbound'];
  } = {},
): Promise<TestServer> {
  const db = options.db ?? (await createTestDatabase());
  const config = loadConfig({
    RUNLANE_ENV: 'test',
    LOG_LEVEL: process.env.RUNLANE_TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.appUrl,
    ...(options.redis ? { REDIS_URL: redisUrl() } : {}),
    ...options.env,
  });
  const app = await createApp({
    config,
    databaseUrl: db.appUrl,
    keyring: options.keyring ?? keyring(randomBytes(32)),
    log: createLogger(config.logLevel),
    outbound: options.outbound,
  });
  const http = createAppHttpServer(app);
  const port = await http.listen(0, '127.0.0.1');
  return {
    app,
    db,
    port,
    url: `http://127.0.0.1:${port}`,
    async tenant(slug) {
      const created = await app.services.tenants.create({ slug: slug ?? `t${process.pid}-${++counter}-${Date.now() % 100000}` });
      return { tenantId: created.tenant.id, slug: created.tenant.slug, token: created.token, accountId: created.account.id };
    },
    async close() {
      await http.close();
      await app.close();
      if (!options.db) await db.drop();
    },
  };
}

/** POSTs a GraphQL document with a token; returns the parsed body and status. */
export async function gql<T = any>(
  url: string,
  token: string | null,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; body: { data?: T; errors?: { message: string; extensions?: Record<string, unknown> }[] } }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as any };
}
