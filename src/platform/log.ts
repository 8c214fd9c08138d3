import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Redaction is a second line of defence: no code path should hand a
 * secret to the logger in the first place.
 */
export function createLogger(level: string, name = 'runlane'): Logger {
  return pino({
    name,
    level,
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
  });
}
