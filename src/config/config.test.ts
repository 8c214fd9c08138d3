import { describe, expect, it } from 'vitest';
import { availableParallelism } from 'node:os';
import { ConfigError, defaultPoolSize, loadConfig } from './config';

describe('configuration', () => {
  it('has defaults that need no setup', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      env: 'development',
      http: { port: 4000, host: '0.0.0.0' },
      database: { url: undefined },
      redisUrl: undefined,
      dataDir: '.runlane',
      defaultTenant: 'default',
      worker: { healthPort: 4500 },
    });
    expect(config.graphql.graphiql).toBe(true);
  });

  it('sizes the connection pool to the machine unless told', () => {
    expect([1, 2, 4, 5, 64].map((cores) => defaultPoolSize(cores))).toEqual([2, 4, 8, 10, 10]);
    expect(loadConfig({}).database.poolSize).toBe(defaultPoolSize(availableParallelism()));
    expect(loadConfig({ DATABASE_POOL_SIZE: '25' }).database.poolSize).toBe(25);
    expect(() => loadConfig({ DATABASE_POOL_SIZE: '0' })).toThrow(ConfigError);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', PORT: '' }).http.port).toBe(4000);
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', RUNLANE_MASTER_KEY: 'c2hvcnQ=', RUNLANE_ENV: 'staging', REDIS_URL: 'http://x' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'DATABASE_URL', 'RUNLANE_MASTER_KEY', 'RUNLANE_ENV', 'REDIS_URL']) expect(problems).toContain(name);
    expect((error as ConfigError).message).toMatch(/^Invalid configuration:/);
  });

  it('decodes the master key', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ RUNLANE_MASTER_KEY: key }).masterKey).toEqual(Buffer.alloc(32, 7));
  });
});
