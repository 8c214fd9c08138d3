import { availableParallelism } from 'node:os';
import { z } from 'zod';

// The one reader of the environment. Everything else receives a Config.

const booleanFlag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', ''])
  .default('')
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const port = z.coerce.number().int().min(0).max(65535);

const masterKey = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, {
    message: 'must be 32 bytes encoded as base64 (openssl rand -base64 32)',
  });

const postgresUrl = z
  .string()
  .refine((v) => /^postgres(ql)?:\/\//.test(v), { message: 'must be a postgres:// URL' });

const redisUrl = z
  .string()
  .refine((v) => /^rediss?:\/\//.test(v), { message: 'must be a redis:// or rediss:// URL' });

const httpUrl = z
  .string()
  .refine((v) => /^https?:\/\/[^\s/]+/.test(v), { message: 'must be an http:// or https:// URL' })
  .transform((v) => v.replace(/\/+$/, ''));

/**
 * Connections per process unless DATABASE_POOL_SIZE says otherwise: twice the cores, between 2
 * and 10 (PostgreSQL's rule of thumb for active connections is about twice its cores). Every
 * connection is a backend process mapping the shared buffers; 10 per Runlane process put 30 idle
 * backends beside 2 cores in bench:logs, where more than a few can never run at once.
 */
export function defaultPoolSize(cores = availableParallelism()): number {
  return Math.min(10, Math.max(2, 2 * cores));
}

const environmentSchema = z.object({
  RUNLANE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: port.default(4000),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_OWNER_URL: postgresUrl.optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(defaultPoolSize()),
  REDIS_URL: redisUrl.optional(),
  RUNLANE_MASTER_KEY: masterKey.optional(),
  RUNLANE_PREVIOUS_MASTER_KEYS: z
    .string()
    .refine((v) => v.split(',').every((k) => Buffer.from(k.trim(), 'base64').length === 32), {
      message: 'must be a comma-separated list of 32-byte base64 keys',
    })
    .optional(),
  RUNLANE_DATA_DIR: z.string().min(1).default('.runlane'),
  RUNLANE_DEFAULT_TENANT: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes')
    .default('default'),
  RUNLANE_AUTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  RUNLANE_GRAPHQL_MAX_DEPTH: z.coerce.number().int().min(2).max(50).default(12),
  RUNLANE_GRAPHQL_MAX_COMPLEXITY: z.coerce.number().int().min(10).default(2_000),
  RUNLANE_GRAPHIQL: booleanFlag,
  WORKER_HEALTH_PORT: port.default(4500),
  WORKER_SLOTS: z.coerce.number().int().min(0).max(256).default(4),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(600_000).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().url().optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  RUNLANE_OUTBOUND_ALLOW_HTTP: booleanFlag,
  RUNLANE_OUTBOUND_ALLOW_PRIVATE: booleanFlag,
  RUNLANE_KEY_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5_000),
  RUNLANE_APP_PROBE_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  RUNLANE_APP_PROBE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  RUNLANE_APP_PROBER_TICK_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  RUNLANE_APPROVAL_EXPIRY_TICK_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  RUNLANE_SUBSCRIBER_BUFFER_LINES: z.coerce.number().int().min(100).max(1_000_000).default(10_000),
  RUNLANE_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(30),
  RUNLANE_LOG_SWEEP_TICK_MS: z.coerce.number().int().min(50).max(3_600_000).default(60_000),
  RUNLANE_WORKER_HEARTBEAT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  RUNLANE_UNMATCHED_STEP_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(30),
  RUNLANE_STEP_TIMEOUT_GRACE_SECONDS: z.coerce.number().int().min(0).max(3_600).default(30),
  RUNLANE_WORKFLOW_SWEEP_TICK_MS: z.coerce.number().int().min(50).max(600_000).default(5_000),
  RUNLANE_WORKFLOW_BRIDGE_TICK_MS: z.coerce.number().int().min(50).max(600_000).default(500),
  RUNLANE_RUN_LEASE_SECONDS: z.coerce.number().int().min(2).max(600).default(30),
  RUNLANE_RUN_RENEW_MS: z.coerce.number().int().min(100).max(300_000).default(10_000),
  RUNLANE_RUN_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  RUNLANE_RUN_MAX_TOKENS: z.coerce.number().int().min(64).max(128_000).default(4_096),
  RUNLANE_PROVIDER_URL_CLOUDFLARE: httpUrl.default('https://api.cloudflare.com'),
  RUNLANE_PROVIDER_URL_GITHUB: httpUrl.default('https://api.github.com'),
  RUNLANE_PROVIDER_URL_POSTMARK: httpUrl.default('https://api.postmarkapp.com'),
  RUNLANE_PROVIDER_URL_OUTSTAND: httpUrl.default('https://api.outstand.so'),
});

export type Config = {
  env: 'development' | 'test' | 'production';
  http: { host: string; port: number };
  /** Unset database.url means embedded PostgreSQL under dataDir. */
  database: { url?: string; ownerUrl?: string; poolSize: number };
  redisUrl?: string;
  masterKey?: Buffer;
  /** Earlier master keys, accepted for unwrapping while `runlane keys rotate-master` runs. */
  previousMasterKeys: Buffer[];
  dataDir: string;
  defaultTenant: string;
  auth: { cacheMs: number };
  graphql: { maxDepth: number; maxComplexity: number; graphiql: boolean };
  /** Slots per worker process; on SIGTERM running steps get the grace period, then runs go back to the queue. */
  worker: { healthPort: number; slots: number; shutdownGraceMs: number };
  logLevel: z.infer<typeof environmentSchema>['LOG_LEVEL'];
  otlpEndpoint?: string;
  /** Anthropic API base; unset means the SDK's default. */
  anthropicBaseUrl?: string;
  keyProbeTimeoutMs: number;
  /** Relaxations of the outbound guard for tenant-supplied URLs: development and tests only. */
  outbound: { allowHttp: boolean; allowPrivate: boolean };
  /** The run queue's lease (renewed well before it expires) and the workers' safety-net poll. */
  runs: { leaseSeconds: number; renewEveryMs: number; pollEveryMs: number; maxTokens: number };
  /** Tenant MCP servers: how often each is probed, how long a probe may take, how often workers look. */
  apps: { probeIntervalMs: number; probeTimeoutMs: number; proberTickMs: number };
  /** How often workers look for pending approvals past their deadline. */
  approvals: { expiryTickMs: number };
  /** Lines a live log subscriber may fall behind by before it is closed (and resumes from its cursor). */
  subscriberBufferLines: number;
  /** Log lines older than retentionDays are deleted (0: kept forever); workers look every sweepTickMs. */
  logs: { retentionDays: number; sweepTickMs: number };
  /**
   * Seed 001's recovery: workers silent for heartbeatTimeoutSeconds become inactive (their running
   * steps fail); a step ready for unmatchedStepTimeoutSeconds that no active worker can take fails;
   * a step past its timeout plus timeoutGraceSeconds fails. Workers sweep every sweepTickMs.
   */
  workflows: {
    heartbeatTimeoutSeconds: number;
    unmatchedStepTimeoutSeconds: number;
    timeoutGraceSeconds: number;
    sweepTickMs: number;
    /** How often workers move agent steps and runs waiting on jobs (DESIGN §5). */
    bridgeTickMs: number;
  };
  /** Base URLs of the integration providers' APIs (tests and self-hosted variants override them). */
  providerUrls: { cloudflare: string; github: string; postmark: string; outstand: string };
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most .env files.
  const cleaned = Object.fromEntries(
    Object.keys(environmentSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = environmentSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return {
    env: e.RUNLANE_ENV,
    http: { host: e.HOST, port: e.PORT },
    database: { url: e.DATABASE_URL, ownerUrl: e.DATABASE_OWNER_URL, poolSize: e.DATABASE_POOL_SIZE },
    redisUrl: e.REDIS_URL,
    masterKey: e.RUNLANE_MASTER_KEY ? Buffer.from(e.RUNLANE_MASTER_KEY, 'base64') : undefined,
    previousMasterKeys: (e.RUNLANE_PREVIOUS_MASTER_KEYS ?? '')
      .split(',')
      .filter((k) => k.trim())
      .map((k) => Buffer.from(k.trim(), 'base64')),
    dataDir: e.RUNLANE_DATA_DIR,
    defaultTenant: e.RUNLANE_DEFAULT_TENANT,
    auth: { cacheMs: e.RUNLANE_AUTH_CACHE_MS },
    graphql: {
      maxDepth: e.RUNLANE_GRAPHQL_MAX_DEPTH,
      maxComplexity: e.RUNLANE_GRAPHQL_MAX_COMPLEXITY,
      graphiql: e.RUNLANE_GRAPHIQL || e.RUNLANE_ENV === 'development',
    },
    worker: { healthPort: e.WORKER_HEALTH_PORT, slots: e.WORKER_SLOTS, shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS },
    logLevel: e.LOG_LEVEL,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    anthropicBaseUrl: e.ANTHROPIC_BASE_URL,
    keyProbeTimeoutMs: e.RUNLANE_KEY_PROBE_TIMEOUT_MS,
    outbound: { allowHttp: e.RUNLANE_OUTBOUND_ALLOW_HTTP, allowPrivate: e.RUNLANE_OUTBOUND_ALLOW_PRIVATE },
    runs: {
      leaseSeconds: e.RUNLANE_RUN_LEASE_SECONDS,
      renewEveryMs: e.RUNLANE_RUN_RENEW_MS,
      pollEveryMs: e.RUNLANE_RUN_POLL_MS,
      maxTokens: e.RUNLANE_RUN_MAX_TOKENS,
    },
    apps: {
      probeIntervalMs: e.RUNLANE_APP_PROBE_INTERVAL_SECONDS * 1000,
      probeTimeoutMs: e.RUNLANE_APP_PROBE_TIMEOUT_MS,
      proberTickMs: e.RUNLANE_APP_PROBER_TICK_MS,
    },
    approvals: { expiryTickMs: e.RUNLANE_APPROVAL_EXPIRY_TICK_MS },
    subscriberBufferLines: e.RUNLANE_SUBSCRIBER_BUFFER_LINES,
    logs: { retentionDays: e.RUNLANE_LOG_RETENTION_DAYS, sweepTickMs: e.RUNLANE_LOG_SWEEP_TICK_MS },
    workflows: {
      heartbeatTimeoutSeconds: e.RUNLANE_WORKER_HEARTBEAT_TIMEOUT_SECONDS,
      unmatchedStepTimeoutSeconds: e.RUNLANE_UNMATCHED_STEP_TIMEOUT_SECONDS,
      timeoutGraceSeconds: e.RUNLANE_STEP_TIMEOUT_GRACE_SECONDS,
      sweepTickMs: e.RUNLANE_WORKFLOW_SWEEP_TICK_MS,
      bridgeTickMs: e.RUNLANE_WORKFLOW_BRIDGE_TICK_MS,
    },
    providerUrls: {
      cloudflare: e.RUNLANE_PROVIDER_URL_CLOUDFLARE,
      github: e.RUNLANE_PROVIDER_URL_GITHUB,
      postmark: e.RUNLANE_PROVIDER_URL_POSTMARK,
      outstand: e.RUNLANE_PROVIDER_URL_OUTSTAND,
    },
  };
}
