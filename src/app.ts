import { readFileSync } from 'node:fs';
import type { Config } from './config/config';
import { createOrm, type Orm } from './db/orm';
import { createTracing, type Tracing } from './platform/tracing';
import { RunStreamService } from './modules/logs/run-stream';
import { LiveLogs } from './modules/logs/live-log';
import { JobStreamService } from './modules/workflows/job-stream';
import { ACCOUNT_CHANGED, type AccountChanged } from './modules/accounts/account.service';
import { Redis } from 'ioredis';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter } from './modules/guardrails/rate-limiter';
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
import { AppService } from './modules/apps/app.service';
import { ContactService } from './modules/contacts/contact.service';
import { RunService } from './modules/runs/run.service';
import { AppProber } from './modules/apps/app-prober';
import { RunScheduler } from './modules/runs/run-scheduler';
import { ApprovalService } from './modules/approvals/approval.service';
import { ApprovalExpirer } from './modules/approvals/approval-expirer';
import { LogService } from './modules/logs/log.service';
import { LogRetention } from './modules/logs/log-retention';
import { WorkspaceService } from './modules/workflows/workspace.service';
import { JobService } from './modules/workflows/job.service';
import { WorkerProtocolService } from './modules/workflows/worker-protocol.service';
import { WorkflowSweeper } from './modules/workflows/workflow-sweeper';
import { WorkerRegistry } from './modules/workers/worker-registry';
import { createMcpConnector, type McpConnector } from './platform/mcp/mcp-connector';
import type { SafeFetchOptions } from './platform/outbound/safe-fetch';
import { createHttpServer, type HttpServer } from './http/server';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export type App = {
  config: Config;
  /** The application role's URL (workers open their LISTEN connection with it). */
  databaseUrl: string;
  /** Reaches tenant MCP servers through the outbound guard. */
  mcp: McpConnector;
  orm: Orm;
  bus: Bus;
  services: Services;
  authenticator: Authenticator;
  secrets: SecretBox;
  log: Logger;
  /** Spans of agent runs; a no-op tracer unless an OTLP endpoint is configured. */
  tracing: Tracing;
  /** Guardrail rate limits: shared by every process through Redis, in process without it. */
  rateLimiter: RateLimiter;
  close(): Promise<void>;
};

/** The composition root: one ORM, one bus, the services, shared by every door of this process. */
export async function createApp(options: {
  config: Config;
  databaseUrl: string;
  keyring: MasterKeyring;
  log: Logger;
  /** Test seams of the outbound guard (DNS, trust roots, dialling); never from configuration. */
  outbound?: Pick<SafeFetchOptions, 'resolve' | 'ca' | 'dial'>;
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
  const outbound: SafeFetchOptions = { ...options.outbound, policy: config.outbound };
  const integrationKeys = new IntegrationKeyService({
    orm,
    secrets,
    verifier: { urls: config.providerUrls, timeoutMs: config.keyProbeTimeoutMs },
    outbound,
  });
  const audit = new AuditService({ orm });
  const mcp = createMcpConnector({
    ...outbound,
    connectTimeoutMs: Math.min(5_000, config.apps.probeTimeoutMs),
    headersTimeoutMs: config.apps.probeTimeoutMs,
    bodyTimeoutMs: config.apps.probeTimeoutMs,
    maxResponseBytes: 4 * 1024 * 1024,
    limits: { deadlineMs: config.apps.probeTimeoutMs },
  });
  const apps = new AppService({ orm, secrets, mcp, probeIntervalMs: config.apps.probeIntervalMs });
  const contacts = new ContactService({ orm });
  const runs = new RunService({ orm, bus, onPublishError: onError });
  const approvals = new ApprovalService({ orm, bus, onPublishError: onError });
  const logs = new LogService({ orm });
  const live = new LiveLogs({ orm, bus, maxBufferedLines: config.subscriberBufferLines });
  const runStreams = new RunStreamService({ live, runs });
  const workspaces = new WorkspaceService({ orm });
  const jobs = new JobService({ orm, bus, workspaces, onPublishError: onError });
  const workers = new WorkerRegistry({ orm });
  const workerProtocol = new WorkerProtocolService({ orm, bus, onPublishError: onError });
  const jobStreams = new JobStreamService({ live, jobs });
  const services: Services = {
    accounts,
    tenants,
    health,
    agentConfigs,
    integrationKeys,
    audit,
    apps,
    contacts,
    runs,
    approvals,
    logs,
    runStreams,
    workspaces,
    jobs,
    workers,
    workerProtocol,
    jobStreams,
  };
  const tracing = createTracing({ endpoint: config.otlpEndpoint, serviceName: 'runlane', serviceVersion: VERSION });
  const rateLimitRedis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2 }) : null;
  rateLimitRedis?.on('error', (err) => log.warn({ err: err.message }, 'rate limiter redis error'));
  const rateLimiter: RateLimiter = rateLimitRedis ? new RedisRateLimiter(rateLimitRedis) : new MemoryRateLimiter();
  return {
    config,
    databaseUrl: options.databaseUrl,
    mcp,
    orm,
    bus,
    services,
    authenticator,
    secrets,
    log,
    tracing,
    rateLimiter,
    async close() {
      rateLimitRedis?.disconnect();
      await authenticator.stop();
      await tracing.shutdown().catch((err) => log.warn({ err: (err as Error).message }, 'could not send the last spans'));
      await bus.close();
      await orm.close(true);
    },
  };
}

/** The background prober of tenant MCP servers; worker processes start it. */
export function createAppProber(app: App): AppProber {
  return new AppProber({
    orm: app.orm,
    apps: app.services.apps,
    tickMs: app.config.apps.proberTickMs,
    batchSize: 10,
    // Outlasts a probe's own deadline, so no app is probed twice at once.
    leaseSeconds: Math.ceil((app.config.apps.probeTimeoutMs * 2) / 1000) + 5,
    onError: (err) => app.log.error({ err }, 'app probe failed'),
  });
}

/** The cron scheduler of agent configs; worker processes start it (any number, one run per tick). */
export function createRunScheduler(app: App): RunScheduler {
  return new RunScheduler({
    orm: app.orm,
    // Second-resolution schedules exist; a look is one indexed query.
    tickMs: 1_000,
    batchSize: 50,
    onError: (err) => app.log.error({ err }, 'schedule fire failed'),
  });
}

/** The expiry of pending approvals past their deadline; worker processes start it (any number). */
export function createApprovalExpirer(app: App): ApprovalExpirer {
  return new ApprovalExpirer({
    orm: app.orm,
    approvals: app.services.approvals,
    tickMs: app.config.approvals.expiryTickMs,
    batchSize: 100,
    onError: (err) => app.log.error({ err }, 'approval expiry failed'),
  });
}

/** The log retention sweeper; worker processes start it (any number), and it idles when retention is 0. */
export function createLogRetention(app: App): LogRetention {
  return new LogRetention({
    orm: app.orm,
    retentionDays: app.config.logs.retentionDays,
    tickMs: app.config.logs.sweepTickMs,
    batchSize: 5_000,
    onError: (err) => app.log.error({ err }, 'log retention sweep failed'),
  });
}

/** Seed 001's recovery sweeper of REST workers, steps and jobs; worker processes start it (any number). */
export function createWorkflowSweeper(app: App): WorkflowSweeper {
  return new WorkflowSweeper({
    orm: app.orm,
    bus: app.bus,
    heartbeatTimeoutSeconds: app.config.workflows.heartbeatTimeoutSeconds,
    unmatchedStepTimeoutSeconds: app.config.workflows.unmatchedStepTimeoutSeconds,
    timeoutGraceSeconds: app.config.workflows.timeoutGraceSeconds,
    tickMs: app.config.workflows.sweepTickMs,
    batchSize: 100,
    onError: (err) => app.log.error({ err }, 'workflow sweep failed'),
  });
}

export function createAppHttpServer(app: App): HttpServer {
  return createHttpServer({
    services: app.services,
    authenticate: (token, context) => app.authenticator.authenticate(token, context),
    accountChanges: (handler) => app.bus.subscribe(ACCOUNT_CHANGED, (message) => handler((message as AccountChanged).accountId)),
    limits: {
      complexity: app.config.graphql.maxComplexity,
      depth: app.config.graphql.maxDepth,
      breadth: 200,
    },
    graphiql: app.config.graphql.graphiql,
    onError: (err, requestId) => app.log.error({ err, requestId }, 'request failed'),
  });
}
