import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { PgListener } from '../db/listener';
import { createOrm, type Orm } from '../db/orm';
import { inTenant } from '../db/tenant-transaction';
import { assertFenced, LeaseLostError, LeaseQueue, ShutdownError, type ConsumeOptions, type Consumer, type Lease, type LeaseQueueOptions } from './lease-queue';

// Two "processes": each its own ORM (pool) and its own LISTEN connection.
type Proc = { orm: Orm; listener: PgListener };

let db: TestDatabase;
let admin: pg.Client;
let a: Proc;
let b: Proc;
let tenantId: string;
const errors: unknown[] = [];
const CHANNEL = 'runlane_runs';

async function proc(name: string): Promise<Proc> {
  const orm = await createOrm({ url: db.appUrl, poolSize: 6, entities: [], applicationName: name });
  const listener = new PgListener({ url: db.appUrl, applicationName: `${name}-listener`, onError: (err) => errors.push(err) });
  await listener.start();
  return { orm, listener };
}

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  tenantId = randomUUID();
  await admin.query(`insert into tenants (id, slug, name) values ($1, 'lease-queue', 'Lease queue')`, [tenantId]);
  a = await proc('proc-a');
  b = await proc('proc-b');
});
afterAll(async () => {
  for (const p of [a, b]) {
    await p?.listener.stop();
    await p?.orm.close(true);
  }
  await admin?.end();
  await db?.drop();
});
beforeEach(async () => {
  await admin.query('delete from agent_runs');
  errors.length = 0;
});
// A failed test must not leave its consumer claiming the next test's rows.
const live: Consumer[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((c) => c.stop()));
});

function consume(q: LeaseQueue, options: ConsumeOptions): Consumer {
  const consumer = q.consume(options);
  live.push(consumer);
  return consumer;
}

function queue(p: Proc, overrides: Partial<LeaseQueueOptions> = {}): LeaseQueue {
  return new LeaseQueue({
    orm: p.orm,
    listener: p.listener,
    prefix: 'runlane_runs',
    channel: CHANNEL,
    leaseSeconds: 30,
    renewEveryMs: 10_000,
    pollEveryMs: 100,
    sweepEveryMs: 5_000,
    onError: (err) => errors.push(err),
    ...overrides,
  });
}

/** Inserts queued runs as the superuser (no NOTIFY). */
async function insertRuns(n: number, runAt = 'now()'): Promise<string[]> {
  const { rows } = await admin.query(
    `insert into agent_runs (tenant_id, id, config_id, agent_blueprint, deadline_seconds, run_at)
     select $1, gen_random_uuid(), gen_random_uuid(), 'custom', 60, ${runAt} from generate_series(1, $2)
     returning id`,
    [tenantId, n],
  );
  return rows.map((r) => r.id as string);
}

/** Enqueues one run the way the application does: insert + NOTIFY in one tenant transaction, as the app role. */
async function enqueue(orm: Orm): Promise<string> {
  const id = randomUUID();
  await inTenant(orm, tenantId, async (em) => {
    await em.execute(
      `insert into agent_runs (tenant_id, id, config_id, agent_blueprint, deadline_seconds) values (?, ?, ?, 'custom', 60)`,
      [tenantId, id, randomUUID()],
    );
    await LeaseQueue.notify(em, CHANNEL, id);
  });
  return id;
}

/** A worker's fenced write: finishes the run only while it still holds the lease. */
async function fencedFinish(orm: Orm, lease: Lease): Promise<number> {
  const res = await inTenant(orm, lease.tenantId, (em) =>
    em.execute(
      `update agent_runs set status = 'succeeded', lease_token = null, lease_owner = null, lease_expires_at = null, completed_at = now()
        where id = ? and status = 'running' and lease_token = ?`,
      [lease.id, lease.token],
      'run',
    ),
  );
  return (res as unknown as { affectedRows: number }).affectedRows;
}

async function row(id: string): Promise<{ status: string; lease_token: string | null; attempts: number; lease_owner: string | null }> {
  const { rows } = await admin.query('select status, lease_token, attempts, lease_owner from agent_runs where id = $1', [id]);
  return rows[0];
}

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(10);
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves when the signal aborts, then rejects with its reason (what a well-behaved handler does). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

describe('LeaseQueue primitives', () => {
  it('claims through the definer function as the app role, renews, and reports unknown tokens as lost', async () => {
    const ids = await insertRuns(3);
    const q = queue(a);
    const leases = await q.claim('owner-1', 2);
    expect(leases).toHaveLength(2);
    for (const l of leases) {
      expect(l.tenantId).toBe(tenantId);
      expect(ids).toContain(l.id);
      expect((await row(l.id)).lease_owner).toBe('owner-1');
    }
    expect(await q.claim('owner-1', 0)).toEqual([]);
    const bogus = randomUUID();
    expect(await q.renew([...leases.map((l) => l.token), bogus, 'not-a-uuid'])).toEqual([bogus, 'not-a-uuid']);
    expect(await q.renew([])).toEqual([]);
    expect(await q.sweep()).toEqual([]);
  });

  it('does not claim a run whose run_at is in the future until it is due', async () => {
    const [id] = await insertRuns(1, `now() + interval '1500 milliseconds'`);
    const q = queue(a);
    expect(await q.claim('o', 10)).toEqual([]);
    const handled: string[] = [];
    const consumer = consume(q, { owner: 'o', wanted: () => 5, handle: async (l) => void handled.push(l.id) });
    await sleep(800);
    expect(handled).toEqual([]);
    await waitFor(() => handled.length === 1, 3_000);
    expect(handled).toEqual([id]);
    await consumer.stop();
  });

  it('rejects a prefix that is not a plain identifier', () => {
    expect(() => queue(a, { prefix: 'x; drop table tenants' })).toThrow(/prefix/);
    expect(() => queue(a, { leaseSeconds: 1, renewEveryMs: 1_000 })).toThrow(/renewEveryMs/);
  });
});

describe('LeaseQueue consumers', () => {
  it('two processes on 200 rows: each row is handled exactly once, never beyond wanted()', async () => {
    const ids = await insertRuns(200);
    const seen = new Map<string, number>();
    const byConsumer = { a: 0, b: 0 };
    const cap = 8;
    let over = false;
    const consumers = (['a', 'b'] as const).map((name) => {
      const p = name === 'a' ? a : b;
      let running = 0;
      const consumer = consume(queue(p), {
        owner: `proc-${name}`,
        wanted: () => cap - consumer.heldLeases(),
        handle: async (lease) => {
          running++;
          if (running > cap) over = true;
          seen.set(lease.id, (seen.get(lease.id) ?? 0) + 1);
          byConsumer[name]++;
          await sleep(Math.random() * 5);
          expect(await fencedFinish(p.orm, lease)).toBe(1);
          running--;
        },
      });
      return consumer;
    });
    await waitFor(() => seen.size === 200, 15_000);
    await Promise.all(consumers.map((c) => c.stop({ graceMs: 1_000 })));
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    expect(over).toBe(false);
    expect(byConsumer.a).toBeGreaterThan(0);
    expect(byConsumer.b).toBeGreaterThan(0);
    const { rows } = await admin.query(`select status, attempts, count(*)::int as n from agent_runs where id = any($1) group by 1, 2`, [ids]);
    expect(rows).toEqual([{ status: 'succeeded', attempts: 1, n: 200 }]);
    expect(errors).toEqual([]);
  });

  it('NOTIFY wakes an idle consumer long before its poll interval', async () => {
    const handledAt = new Map<string, number>();
    const consumer = consume(queue(b, { pollEveryMs: 10_000, sweepEveryMs: 10_000 }), {
      owner: 'b',
      wanted: () => 4 - consumer.heldLeases(),
      handle: async (lease) => {
        handledAt.set(lease.id, Date.now());
        await fencedFinish(b.orm, lease);
      },
    });
    await consumer.ready();
    await sleep(200); // idle: the first claim found nothing
    const start = Date.now();
    const id = await enqueue(a.orm); // another process enqueues
    await waitFor(() => handledAt.has(id), 2_000);
    expect(handledAt.get(id)! - start).toBeLessThan(1_000);
    await consumer.stop();
  });

  it('with no free slot, takes the waiting rows as soon as a slot frees (not at the next poll)', async () => {
    const done: string[] = [];
    const consumer = consume(queue(a, { pollEveryMs: 10_000, sweepEveryMs: 10_000 }), {
      owner: 'a',
      wanted: () => 1 - consumer.heldLeases(),
      handle: async (lease) => {
        expect(consumer.heldLeases()).toBe(1);
        await sleep(100);
        await fencedFinish(a.orm, lease);
        done.push(lease.id);
      },
    });
    await consumer.ready();
    const ids = [await enqueue(b.orm), await enqueue(b.orm), await enqueue(b.orm)];
    await waitFor(() => done.length === 3, 2_000);
    expect(done.sort()).toEqual(ids.sort());
    await consumer.stop();
  });

  it('a wake during a claim in flight is not lost', async () => {
    const handled: string[] = [];
    const ids = await insertRuns(2);
    const consumer = consume(queue(a, { pollEveryMs: 10_000, sweepEveryMs: 10_000 }), {
      owner: 'a',
      wanted: () => 1, // one per claim, so the second row needs a second claim
      handle: (lease, signal) => {
        handled.push(lease.id);
        // handle() runs inside the claim round: this wake arrives while the claim is in flight.
        if (handled.length === 1) consumer.nudge();
        return untilAborted(signal); // hold the lease: no slot frees, so nothing else claims
      },
    });
    await waitFor(() => handled.length === 2, 2_000);
    expect(handled.sort()).toEqual(ids.sort());
    await consumer.stop();
  });

  it('renewal keeps a lease alive past leaseSeconds while other processes sweep', async () => {
    const [id] = await insertRuns(1);
    let leaseSeen: Lease | undefined;
    let abortedWith: unknown;
    let finished = -1;
    // 3 s leases renewed every 0.5 s: a margin a loaded CI machine keeps; the work takes 5 s.
    const consumer = consume(queue(a, { leaseSeconds: 3, renewEveryMs: 500 }), {
      owner: 'a',
      wanted: () => 1 - consumer.heldLeases(),
      handle: async (lease, signal) => {
        leaseSeen = lease;
        signal.addEventListener('abort', () => (abortedWith = signal.reason));
        await sleep(5_000);
        finished = await fencedFinish(a.orm, lease);
      },
    });
    const sweeper = queue(b, { leaseSeconds: 3, renewEveryMs: 500 });
    const released: unknown[] = [];
    await waitFor(() => leaseSeen !== undefined);
    const until = Date.now() + 4_500;
    while (Date.now() < until) {
      released.push(...(await sweeper.sweep()));
      expect((await row(id!)).lease_token).toBe(leaseSeen!.token);
      await sleep(250);
    }
    expect(released).toEqual([]);
    await waitFor(() => finished !== -1, 3_000);
    expect(finished).toBe(1);
    expect(abortedWith).toBeUndefined();
    expect((await row(id!)).status).toBe('succeeded');
    await consumer.stop();
  });

  it('a lease changed by someone else is reported lost on the next renew: leaseSignal aborts with LeaseLostError', async () => {
    const [id] = await insertRuns(1);
    let reason: unknown;
    let started = false;
    const consumer = consume(queue(a, { renewEveryMs: 300 }), {
      owner: 'a',
      wanted: () => 1 - consumer.heldLeases(),
      handle: async (_lease, signal) => {
        started = true;
        try {
          await untilAborted(signal);
        } catch (err) {
          reason = err;
          throw err; // rejecting with the signal's own reason is not reported as an error
        }
      },
    });
    await waitFor(() => started);
    expect(consumer.heldLeases()).toBe(1);
    await admin.query(`update agent_runs set status = 'cancelled', lease_token = null, lease_owner = null, lease_expires_at = null where id = $1`, [id]);
    const t0 = Date.now();
    await waitFor(() => reason !== undefined, 2_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(reason).toBeInstanceOf(LeaseLostError);
    expect((reason as LeaseLostError).lease?.id).toBe(id);
    await waitFor(() => consumer.heldLeases() === 0);
    await consumer.stop();
    expect(errors).toEqual([]);
  });

  it('the sweeper returns an expired lease to the queue, another process reclaims it, and the old token fences nothing', async () => {
    const [id] = await insertRuns(1);
    // Process A claims and "crashes": nobody renews its 1-second lease.
    const crashed = (await queue(a, { leaseSeconds: 1, renewEveryMs: 500 }).claim('proc-a', 1))[0]!;
    expect(crashed.id).toBe(id);
    const taken: Lease[] = [];
    const consumer = consume(queue(b, { pollEveryMs: 10_000, sweepEveryMs: 200 }), {
      owner: 'proc-b',
      wanted: () => 4 - consumer.heldLeases(),
      handle: async (lease) => {
        taken.push(lease);
      },
    });
    await waitFor(() => taken.length === 1, 4_000);
    expect(taken[0]!.id).toBe(id);
    expect(taken[0]!.token).not.toBe(crashed.token);
    expect(await row(id!)).toMatchObject({ status: 'running', lease_token: taken[0]!.token, lease_owner: 'proc-b', attempts: 2 });

    // The old holder wakes up and tries to write: fenced by its token, it updates nothing.
    const affected = await fencedFinish(a.orm, crashed);
    expect(affected).toBe(0);
    expect(() => assertFenced(affected, crashed)).toThrow(LeaseLostError);
    expect(() => assertFenced({ affectedRows: 1 }, crashed)).not.toThrow();
    expect(await fencedFinish(b.orm, taken[0]!)).toBe(1);
    await consumer.stop();
  });

  it('stop() with grace: a handler finishing within grace completes, the other is aborted with ShutdownError', async () => {
    await insertRuns(2);
    const outcome = new Map<string, string>();
    let calls = 0;
    const q = queue(a, { pollEveryMs: 200 });
    const consumer = consume(q, {
      owner: 'a',
      wanted: () => 2 - consumer.heldLeases(),
      handle: async (lease, signal) => {
        if (calls++ === 0) {
          await sleep(200);
          outcome.set('quick', signal.aborted ? 'aborted' : `finished:${await fencedFinish(a.orm, lease)}`);
          return;
        }
        try {
          await untilAborted(signal);
        } catch (err) {
          outcome.set('slow', err instanceof ShutdownError ? 'shutdown' : String(err));
          throw err;
        }
      },
    });
    await waitFor(() => consumer.heldLeases() === 2);
    const t0 = Date.now();
    await consumer.stop({ graceMs: 700 });
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(2_000);
    expect(outcome.get('quick')).toBe('finished:1');
    expect(outcome.get('slow')).toBe('shutdown');
    expect(consumer.heldLeases()).toBe(0);
    expect(await consumer.stop()).toBeUndefined(); // idempotent

    // Nothing is left running: no LISTEN handler, no poll, no NOTIFY reaction.
    expect(a.listener.channels()).not.toContain(CHANNEL);
    const late = await enqueue(b.orm);
    consumer.nudge();
    await sleep(600);
    expect((await row(late)).status).toBe('queued');
    expect(errors).toEqual([]);
  });

  it('keeps consuming after the LISTEN connection is killed: onReconnect triggers a claim', async () => {
    const listener = new PgListener({ url: db.appUrl, applicationName: 'proc-c-listener', onError: () => undefined, minBackoffMs: 20 });
    await listener.start();
    const done: string[] = [];
    const consumer = consume(queue(a, { listener, pollEveryMs: 10_000, sweepEveryMs: 10_000 }), {
      owner: 'c',
      wanted: () => 4 - consumer.heldLeases(),
      handle: async (lease) => {
        await fencedFinish(a.orm, lease);
        done.push(lease.id);
      },
    });
    try {
      await consumer.ready();
      // A row queued while nobody can hear its NOTIFY (here: none sent at all).
      const [id] = await insertRuns(1);
      await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'proc-c-listener'`, [db.name]);
      await waitFor(() => done.length === 1, 3_000);
      expect(done).toEqual([id]);
    } finally {
      await consumer.stop();
      await listener.stop();
    }
  });
});
