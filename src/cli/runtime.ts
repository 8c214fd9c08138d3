import { ConfigError, loadConfig, type Config } from '../config/config';
import { migrateAsOwner } from '../db/provision';
import { startEmbeddedDatabase } from '../db/embedded';
import { createLogger, type Logger } from '../platform/log';
import type { MasterKeyring } from '../platform/crypto';
import { resolveMasterKeyring } from '../platform/master-key';

/** Thrown by commands for a user mistake: printed as one line, exit code 1 (2 for usage). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

export function loggerFor(config: Config): Logger {
  return createLogger(config.logLevel);
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** For commands whose stdout is their answer: warnings and worse only, on stderr. */
export function quietLoggerFor(config: Config): Logger {
  const level = LEVELS.indexOf(config.logLevel) > LEVELS.indexOf('warn') ? config.logLevel : 'warn';
  return createLogger(level, 'runlane', 2);
}

export type OpenDatabase = { appUrl: string; embedded: boolean; close(): Promise<void> };

/**
 * The database the process talks to as runlane_app. Without DATABASE_URL: the embedded
 * PostgreSQL under the data directory (started, or found running), migrated. With it:
 * migrations run first when DATABASE_OWNER_URL is given.
 */
export async function openDatabase(config: Config, log: Logger): Promise<OpenDatabase> {
  if (!config.database.url) {
    const embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, log: (msg) => log.info(msg) });
    log.info({ port: embedded.port, reused: !embedded.startedHere }, 'embedded PostgreSQL ready');
    return { appUrl: embedded.appUrl, embedded: true, close: () => embedded.stop() };
  }
  if (config.database.ownerUrl) {
    const applied = await migrateAsOwner(config.database.ownerUrl);
    if (applied.length) log.info({ applied }, 'migrations applied');
  }
  return { appUrl: config.database.url, embedded: false, close: async () => {} };
}

export function requireRedisForSplit(config: Config, role: 'api' | 'worker'): void {
  if (!config.redisUrl) {
    throw new CliError(
      `runlane ${role} runs as one of several processes and needs REDIS_URL for the bus that connects them. ` +
        'Set REDIS_URL, or use `runlane serve` to run everything in one process.',
    );
  }
  if (!config.database.url) {
    throw new CliError(
      `runlane ${role} needs DATABASE_URL: split processes share one PostgreSQL. Use \`runlane serve\` for the embedded database.`,
    );
  }
}

export function keyringFor(config: Config, log: Logger): Promise<MasterKeyring> {
  return resolveMasterKeyring({
    configured: config.masterKey,
    previous: config.previousMasterKeys,
    dataDir: config.dataDir,
    production: config.env === 'production',
    warn: (message) => log.warn(message),
  });
}
