import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { PgListener } from './listener';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
});
afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const notify = (channel: string, payload: string) => admin.query('select pg_notify($1, $2)', [channel, payload]);

async function backends(applicationName: string): Promise<number[]> {
  const { rows } = await admin.query('select pid from pg_stat_activity where datname = $1 and application_name = $2', [db.name, applicationName]);
  return rows.map((r) => r.pid as number);
}

function newListener(extra: Partial<ConstructorParameters<typeof PgListener>[0]> = {}) {
  const applicationName = `listener-${randomBytes(4).toString('hex')}`;
  const errors: unknown[] = [];
  const listener = new PgListener({ url: db.appUrl, applicationName, onError: (err) => errors.push(err), minBackoffMs: 20, maxBackoffMs: 200, ...extra });
  return { listener, errors, applicationName };
}

describe('PgListener', () => {
  it('delivers payloads to every handler of a channel, and UNLISTENs with the last one', async () => {
    const { listener, errors, applicationName } = newListener();
    await listener.start();
    const a: string[] = [];
    const b: string[] = [];
    const onA = (p: string) => void a.push(p);
    const onB = (p: string) => void b.push(p);
    await listener.listen('Mixed.Case chan', onA);
    await listener.listen('Mixed.Case chan', onB);
    await listener.listen('other', () => {
      throw new Error('handler bug');
    });
    await notify('Mixed.Case chan', 'id-1');
    await notify('other', 'x');
    await waitFor(() => a.length === 1 && b.length === 1 && errors.length === 1);
    expect(a).toEqual(['id-1']);
    expect((errors[0] as Error).message).toBe('handler bug');

    await listener.unlisten('Mixed.Case chan', onA);
    await notify('Mixed.Case chan', 'id-2');
    await waitFor(() => b.length === 2);
    expect(a).toEqual(['id-1']);

    await listener.unlisten('Mixed.Case chan', onB);
    expect(listener.channels()).toEqual(['other']);
    const { rows } = await admin.query(
      `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = $2`,
      [db.name, applicationName],
    );
    expect(rows[0].n).toBe(1);

    await listener.stop();
    expect(listener.connected).toBe(false);
    expect(listener.channels()).toEqual([]);
    await waitFor(async () => (await backends(applicationName)).length === 0);
  });

  it('reconnects after pg_terminate_backend, re-issues LISTEN, runs onReconnect and delivers again', async () => {
    let reconnects = 0;
    let hookCalls = 0;
    const { listener, errors, applicationName } = newListener({ onReconnect: () => reconnects++ });
    const removeHook = listener.onReconnect(() => hookCalls++);
    const got: string[] = [];
    // Registered before start: issued with the first connection.
    await listener.listen('runlane_test', (p) => void got.push(p));
    await listener.start();
    expect(listener.connected).toBe(true);
    expect(reconnects).toBe(0);
    await notify('runlane_test', 'before');
    await waitFor(() => got.length === 1);

    const [pid] = await backends(applicationName);
    expect(pid).toBeDefined();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await waitFor(() => reconnects === 1);
    expect(hookCalls).toBe(1);
    expect(listener.connected).toBe(true);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    const after = await backends(applicationName);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);

    await notify('runlane_test', 'after');
    await waitFor(() => got.length === 2);
    expect(got).toEqual(['before', 'after']);

    // Twice in a row works the same, and a removed hook is not called.
    removeHook();
    await admin.query('select pg_terminate_backend($1)', [after[0]]);
    await waitFor(() => reconnects === 2);
    expect(hookCalls).toBe(1);
    await notify('runlane_test', 'again');
    await waitFor(() => got.length === 3);
    await listener.stop();
  });

  it('keeps retrying an unreachable server with capped backoff, never throws, and stop() ends the retries', async () => {
    const errors: unknown[] = [];
    const at: number[] = [];
    const listener = new PgListener({
      url: 'postgres://runlane_app@127.0.0.1:1/nowhere',
      onError: (err) => {
        errors.push(err);
        at.push(Date.now());
      },
      minBackoffMs: 20,
      maxBackoffMs: 80,
    });
    await listener.start();
    await listener.listen('runlane_test', () => undefined);
    expect(listener.connected).toBe(false);
    await waitFor(() => errors.length >= 6, 3_000);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    // Capped: no wait beyond maxBackoffMs (plus scheduling slack).
    expect(Math.max(...gaps)).toBeLessThan(80 + 100);
    await listener.stop();
    const count = errors.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(errors.length).toBe(count);
  });
});
