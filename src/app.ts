import { readFileSync } from 'node:fs';
import type { Config } from './config/config';
import { createOrm, type Orm } from './db/orm';
import { createBus, type Bus } from './platform/bus';
import type { MasterKeyring } from './platform/crypto';
import { SecretBox } from './platform/secret-box';
import type { Logger } from './platform/log';
import type { Services } from './platform/services';
import { entities } from './modules/entities';
import { AccountService } from './modules/accounts/account.service';
import { Authenticator } from './modules/accounts/authenticator';
import { TenantService } from './modules/accounts/tenant.service';
import { HealthService } from './modules/system/health.service';
import { AuditService } from './modules/audit/audit.service';
import { AgentConfigService } from './modules/configs/agent-config.service';
import { probeAnthropicKey } from './modules/configs/key-probe';
import { IntegrationKeyService } from './modules/keys/integration-key.service';
import { createHttpServer, type HttpServer } from './http/server';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export type App = {
  config: Config;
  orm: Orm;
  bus: Bus;
  services: Services;
  authenticator: Authenticator;
  secrets: SecretBox;
  log: Logger;
  close(): Promise<void>;
};

/** The composition root: one ORM, one bus, the services, shared by every door of this process. */
export async function createApp(options: {
  config: Config;
  databaseUrl: string;
  keyring: MasterKeyring;
  log: Logger;
}): Promise<App> {
  const { config, log } = options;
  const orm = await createOrm({ url: options.databaseUrl, poolSize: config.database.poolSize, entities });
  const bus = createBus(config.redisUrl, (err) => log.warn({ err: err.message }, 'bus error'));
  const onError = (err: unknown) => log.error({ err }, 'background error');
  const secrets = new SecretBox(options.keyring);
  const accounts = new AccountService({ orm, bus, onPublishError: onError });
  const tenants = new TenantService({ orm });
  const authenticator = new Authenticator({ orm, bus, cacheMs: config.auth.cacheMs, onError });
  await authenticator.start();
  const health = new HealthService({ orm, bus, version: VERSION, environment: config.env });
  const agentConfigs = new AgentConfigService({
    orm,
    secrets,
    probe: (apiKey) => probeAnthropicKey(apiKey, { baseUrl: config.anthropicBaseUrl, timeoutMs: config.keyProbeTimeoutMs }),
  });
  const integrationKeys = new IntegrationKeyService({
    orm,
    secrets,
    verifier: { urls: config.providerUrls, timeoutMs: config.keyProbeTimeoutMs },
    allowHttp: config.outbound.allowHttp,
  });
  const audit = new AuditService({ orm });
  const services: Services = { accounts, tenants, health, agentConfigs, integrationKeys, audit };
  return {
    config,
    orm,
    bus,
    services,
    authenticator,
    secrets,
    log,
    async close() {
      await authenticator.stop();
      await bus.close();
      await orm.close(true);
    },
  };
}

export function createAppHttpServer(app: App): HttpServer {
  return createHttpServer({
    services: app.services,
    authenticate: (token, context) => app.authenticator.authenticate(token, context),
    limits: {
      complexity: app.config.graphql.maxComplexity,
      depth: app.config.graphql.maxDepth,
      breadth: 200,
    },
    graphiql: app.config.graphql.graphiql,
    onError: (err, requestId) => app.log.error({ err, requestId }, 'request failed'),
  });
}
