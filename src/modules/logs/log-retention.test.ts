import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { writeRunLines } from '../../../test/support/log-lines';
import { createLogRetention } from '../../app';
import { loadConfig } from '../../config/config';
import { SCOPES } from '../accounts/scopes';
import { LogRetention, type LogRetentionOptions } from './log-retention';

// The retention sweeper against a real database: it works across tenants through its SECURITY
// DEFINER function, and deletes by age only.
type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
let server: TestServer;
let tenants: Tenant[];
const errors: unknown[] = [];

const actorOf = (t: Tenant) => ({ tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) });

beforeAll(async () => {
  server = await startTestServer({ env: { RUNLANE_LOG_RETENTION_DAYS: '30', RUNLANE_LOG_SWEEP_TICK_MS: '50' } });
  tenants = [await server.tenant(), await server.tenant()];
  for (const t of tenants) await server.app.services.agentConfigs.put(actorOf(t), 'custom', {});
});
afterAll(async () => {
  await server?.close();
  expect(errors).toEqual([]);
});

function sweeper(options: Partial<LogRetentionOptions> = {}) {
  return new LogRetention({ orm: server.app.orm, retentionDays: 30, tickMs: 50, batchSize: 1000, onError: (err) => errors.push(err), ...options });
}

/** A run per tenant with lines aged `ages` days (10 lines each); returns the runs' ids. */
async function runsWithLines(ages: number[]): Promise<string[]> {
  const ids = [];
  for (const t of tenants) {
    const { run } = await server.app.services.runs.enqueue(actorOf(t), 'custom', {});
    for (const [i, ageDays] of ages.entries()) await writeRunLines(server.db, t.tenantId, run.id, { from: i * 10 + 1, count: 10, ageDays });
    ids.push(run.id);
  }
  return ids;
}

const seqsOf = async (runId: string) =>
  (await adminQuery<{ seq: string }>(server.db, `select seq from log_lines where source_id = $1 order by seq`, [runId])).map((r) => Number(r.seq));

/** Keeps earlier tests' old lines out of a test's counts. */
async function clearOldLines() {
  await adminQuery(server.db, `delete from log_lines where ts < now() - interval '29 days'`);
}

describe('log retention', () => {
  it('reads its settings: 30 days and a minute by default', () => {
    expect(loadConfig({}).logs).toEqual({ retentionDays: 30, sweepTickMs: 60_000 });
    expect(loadConfig({ RUNLANE_LOG_RETENTION_DAYS: '0' }).logs.retentionDays).toBe(0);
    expect(() => loadConfig({ RUNLANE_LOG_RETENTION_DAYS: '-1' })).toThrow(/RUNLANE_LOG_RETENTION_DAYS/);
  });

  it('deletes lines older than the cutoff in every tenant, and nothing younger', async () => {
    await clearOldLines();
    const ids = await runsWithLines([400, 31, 29, 0]);
    expect(await sweeper().tick()).toBe(40);
    for (const id of ids) expect(await seqsOf(id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 21));
    expect(await sweeper().tick()).toBe(0);
  });

  it('sweeps in batches in the background until a batch comes back short', async () => {
    await clearOldLines();
    const ids = await runsWithLines([90, 60, 45, 1]);
    const background = sweeper({ batchSize: 7 });
    background.start();
    try {
      await vi.waitFor(async () => expect((await seqsOf(ids[0]!)).length + (await seqsOf(ids[1]!)).length).toBe(20), { timeout: 5_000, interval: 50 });
    } finally {
      await background.stop();
    }
    for (const id of ids) expect(await seqsOf(id)).toEqual(Array.from({ length: 10 }, (_, i) => i + 31));
  });

  it('keeps everything when retention is 0', async () => {
    await clearOldLines();
    const ids = await runsWithLines([5_000]);
    const never = sweeper({ retentionDays: 0 });
    expect(await never.tick()).toBe(0);
    never.start();
    await new Promise((resolve) => setTimeout(resolve, 300));
    await never.stop();
    for (const id of ids) expect(await seqsOf(id)).toHaveLength(10);
  });

  it('is built from the configuration', async () => {
    await clearOldLines();
    const ids = await runsWithLines([31]);
    expect(await createLogRetention(server.app).tick()).toBe(20);
    for (const id of ids) expect(await seqsOf(id)).toEqual([]);
  });

  it('leaves the application role no way to delete lines but the sweep', async () => {
    const app = new pg.Client({ connectionString: server.db.appUrl });
    await app.connect();
    try {
      await app.query('begin');
      await app.query(`select set_config('app.tenant_id', $1, true)`, [tenants[0]!.tenantId]);
      await expect(app.query(`delete from log_lines`)).rejects.toThrow(/permission denied/);
      await app.query('rollback');
    } finally {
      await app.end();
    }
  });
});
