import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Redaction is a second line of defence: no code path should hand a
 * secret to the logger in the first place.
 */
/** Services log to stdout; CLI commands whose stdout is their output log to stderr (fd 2). */
export function createLogger(level: string, name = 'runlane', destination: 1 | 2 = 1): Logger {
  return pino(
    {
      name,
      level,
      serializers: { err: serializeError },
      redact: {
        paths: [
          'token',
          '*.token',
          'authorization',
          '*.authorization',
          'headers.authorization',
          'headers["x-runlane-token"]',
          'apiKey',
          '*.apiKey',
          'password',
          '*.password',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: destination, sync: true }),
  );
}

const SQL_START = /^\s*(insert|update|delete|select|with|alter|create|drop)\b/i;

/**
 * Driver errors carry the failed statement (with parameters) in their message; keep only the
 * database's own reason so rows and hashes never reach the logs.
 */
export function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  const raw = err.message;
  const reason = SQL_START.test(raw) ? raw.slice(raw.lastIndexOf(' - ') + 3) : raw;
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: reason,
    ...(typeof code === 'string' ? { code } : {}),
    stack: SQL_START.test(raw) ? undefined : err.stack,
  };
}
