import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { SCOPES } from '../accounts/scopes';
import { nextFireTime } from '../configs/cron';
import { RunScheduler } from './run-scheduler';

// The cron scheduler with two "worker processes": two apps (each its own ORM and connection
// pool) over one database, the way two `runlane worker` processes share it. Nothing runs the
// queued runs here: they stay queued for the assertions.

let first: TestServer;
let second: TestServer;
const errors: unknown[] = [];

const schedulerOf = (server: TestServer, tickMs = 20) =>
  new RunScheduler({ orm: server.app.orm, tickMs, batchSize: 50, onError: (e) => errors.push(e) });
const actorOf = (tenantId: string) => ({ tenantId, name: 'test', scopes: new Set<string>(SCOPES) });

async function tenantWithSchedule(schedule: string | null, blueprint = 'custom'): Promise<string> {
  const { tenantId } = await first.tenant();
  await first.app.services.agentConfigs.put(actorOf(tenantId), blueprint, { schedule });
  return tenantId;
}

const configRow = async (tenantId: string, blueprint = 'custom') =>
  (await adminQuery(first.db, `select id, schedule, schedule_next_at, disabled_at from agent_configs where tenant_id = $1 and agent_blueprint = $2`, [tenantId, blueprint]))[0];

const runsOf = (tenantId: string) =>
  adminQuery(first.db, `select id, source, status, input, idempotency_key, config_id from agent_runs where tenant_id = $1 order by created_at, id`, [tenantId]);

const setNextAt = (tenantId: string, sqlExpression: string) =>
  adminQuery(first.db, `update agent_configs set schedule_next_at = ${sqlExpression} where tenant_id = $1`, [tenantId]);

const dbNow = async () => new Date((await adminQuery(first.db, 'select now() as now'))[0].now);

beforeAll(async () => {
  first = await startTestServer();
  second = await startTestServer({ db: first.db });
});
afterAll(async () => {
  await second?.close();
  await first?.close();
});

describe('schedule_next_at on the config', () => {
  it('is the first fire time after now when a schedule is put, and null when it is removed', async () => {
    const before = new Date();
    const tenantId = await tenantWithSchedule('*/5 * * * *');
    const after = new Date();
    const row = await configRow(tenantId);
    const nextAt = new Date(row.schedule_next_at);
    expect(nextAt > before).toBe(true);
    expect([nextFireTime('*/5 * * * *', before)!.getTime(), nextFireTime('*/5 * * * *', after)!.getTime()]).toContain(nextAt.getTime());
    expect(nextAt.getUTCMinutes() % 5).toBe(0);

    // The entity carries it too.
    const config = await first.app.services.agentConfigs.get(tenantId, 'custom');
    expect(config.scheduleNextAt?.getTime()).toBe(nextAt.getTime());

    // A changed schedule is recomputed.
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: '0 0 1 1 *' });
    const yearly = new Date((await configRow(tenantId)).schedule_next_at);
    expect(yearly.toISOString()).toBe(`${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);

    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { systemPrompt: 'No schedule any more.' });
    expect(await configRow(tenantId)).toMatchObject({ schedule: null, schedule_next_at: null });
  });

  it('keeps a due tick when the config is put again with the same schedule', async () => {
    const tenantId = await tenantWithSchedule('0 * * * *');
    await setNextAt(tenantId, `now() - interval '10 seconds'`);
    const due = (await configRow(tenantId)).schedule_next_at;
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: '0 * * * *', systemPrompt: 'Edited.' });
    expect((await configRow(tenantId)).schedule_next_at).toEqual(due);
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: null });
  });

  it("evaluates the cron on the tenant's time zone", async () => {
    const created = await first.app.services.tenants.create({ slug: `tz-${process.pid}-${Date.now() % 100000}`, timezone: 'Asia/Kolkata' });
    const tenantId = created.tenant.id;
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: '0 0 * * *' });
    const nextAt = new Date((await configRow(tenantId)).schedule_next_at);
    // Midnight in India (UTC+05:30) is 18:30Z.
    expect([nextAt.getUTCHours(), nextAt.getUTCMinutes()]).toEqual([18, 30]);
    expect(nextAt.getTime() - Date.now()).toBeLessThanOrEqual(86_400_000);
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: null });
  });
});

describe('the scheduler', () => {
  it('enqueues exactly one run for a due tick when two worker processes tick at the same time, and advances the schedule', async () => {
    const tenantId = await tenantWithSchedule('0 0 1 1 *');
    const { id: configId } = await configRow(tenantId);
    // Due since New Year (the most recent tick of a yearly schedule).
    await setNextAt(tenantId, `date_trunc('year', now() at time zone 'UTC') at time zone 'UTC'`);
    const tick = new Date((await configRow(tenantId)).schedule_next_at).toISOString();
    const a = schedulerOf(first);
    const b = schedulerOf(second);
    await Promise.all([a.tick(), b.tick(), a.tick(), b.tick(), a.tick(), b.tick()]);
    // And the same config fired directly, many times at once: the row lock and the key agree.
    await Promise.all([...Array(6)].flatMap(() => [a.fire(tenantId, configId), b.fire(tenantId, configId)]));

    const runs = await runsOf(tenantId);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      source: 'schedule',
      status: 'queued',
      config_id: configId,
      idempotency_key: `schedule:${tick}`,
      input: { scheduled_for: tick },
    });
    const row = await configRow(tenantId);
    expect(new Date(row.schedule_next_at).toISOString()).toBe(`${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);
    // Nothing is due any more.
    expect(await a.fire(tenantId, configId)).toBeNull();
    expect(errors).toEqual([]);
  });

  it('fires one run for the most recent of several missed ticks, not a burst', async () => {
    const tenantId = await tenantWithSchedule('0 * * * *');
    await setNextAt(tenantId, `date_trunc('hour', now()) - interval '5 hours'`);
    const before = await dbNow();
    const fired = await schedulerOf(first).tick();
    const after = await dbNow();
    expect(fired.filter((f) => f.tenantId === tenantId)).toHaveLength(1);
    await schedulerOf(second).tick();

    const runs = await runsOf(tenantId);
    expect(runs).toHaveLength(1);
    const scheduledFor = new Date(runs[0].input.scheduled_for);
    // The latest top of the hour at or before now, not five hours ago.
    expect(scheduledFor.getUTCMinutes()).toBe(0);
    expect(scheduledFor.getTime()).toBeLessThanOrEqual(after.getTime());
    expect(scheduledFor.getTime()).toBeGreaterThan(before.getTime() - 3_600_000);
    const nextAt = new Date((await configRow(tenantId)).schedule_next_at);
    expect(nextAt.getTime() - scheduledFor.getTime()).toBe(3_600_000);
    expect(nextAt > after).toBe(true);
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: null });
  });

  it('skips a disabled config, and resumes after enable from now without making up missed ticks', async () => {
    const tenantId = await tenantWithSchedule('0 * * * *');
    const { id: configId } = await configRow(tenantId);
    await adminQuery(
      first.db,
      `update agent_configs set disabled_at = now(), disable_reason = 'circuit breaker', schedule_next_at = now() - interval '3 hours' where tenant_id = $1`,
      [tenantId],
    );
    await Promise.all([schedulerOf(first).tick(), schedulerOf(second).tick()]);
    expect(await schedulerOf(first).fire(tenantId, configId)).toBeNull();
    expect(await runsOf(tenantId)).toHaveLength(0);

    const enabledAt = new Date();
    await first.app.services.agentConfigs.enable(actorOf(tenantId), 'custom');
    const row = await configRow(tenantId);
    expect(row.disabled_at).toBeNull();
    const nextAt = new Date(row.schedule_next_at);
    expect(nextAt > enabledAt).toBe(true);
    expect(nextAt.getUTCMinutes()).toBe(0);
    await Promise.all([schedulerOf(first).tick(), schedulerOf(second).tick()]);
    expect(await runsOf(tenantId)).toHaveLength(0);
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: null });
  });

  it('runs on its own: an every-second schedule gets one run per distinct tick with two workers', async () => {
    const tenantId = await tenantWithSchedule('* * * * * *');
    const a = schedulerOf(first, 50);
    const b = schedulerOf(second, 50);
    const started = Date.now();
    a.start();
    b.start();
    await new Promise((r) => setTimeout(r, 3_200));
    await Promise.all([a.stop(), b.stop()]);
    // Stop the schedule before looking, so nothing fires meanwhile.
    await first.app.services.agentConfigs.put(actorOf(tenantId), 'custom', { schedule: null });
    const stopped = Date.now();

    const runs = await runsOf(tenantId);
    const ticks = runs.map((r) => r.input.scheduled_for as string);
    expect(new Set(ticks).size).toBe(runs.length);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs.length).toBeLessThanOrEqual(Math.ceil((stopped - started) / 1000) + 1);
    for (const run of runs) {
      expect(run.source).toBe('schedule');
      expect(run.idempotency_key).toBe(`schedule:${run.input.scheduled_for}`);
      expect(new Date(run.input.scheduled_for).getUTCMilliseconds()).toBe(0);
    }
    expect(errors).toEqual([]);
  });
});
