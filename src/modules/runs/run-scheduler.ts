import { BackgroundTask } from '../../platform/periodic-task';
import type { Orm } from '../../db/orm';
import { ConflictError } from '../../db/errors';
import { callDefiner, inTenant } from '../../db/tenant-transaction';
import { latestFireTime, nextFireTime } from '../configs/cron';
import { enqueueIn } from './run.service';

export type RunSchedulerOptions = {
  orm: Orm;
  /** How often each worker looks for due schedules; every wait is jittered by ±50 %. */
  tickMs: number;
  /** Due schedules read per look; a full batch is followed at once by another. */
  batchSize: number;
  onError: (err: unknown) => void;
};

/** One schedule fired: the tick it stands for and the run it queued (created: false if it was there). */
export type ScheduledRun = {
  tenantId: string;
  configId: string;
  blueprint: string;
  scheduledFor: Date;
  runId: string;
  created: boolean;
  nextAt: Date | null;
};

type DueRow = {
  agent_blueprint: string;
  schedule: string;
  schedule_next_at: Date | string;
  now: Date | string;
  timezone: string;
};

/**
 * Fires cron schedules in the background of a worker process. Any number of workers may run
 * one: a tick is fired under the config row's lock, taken with SKIP LOCKED and re-checking that
 * `schedule_next_at` is still due, and the run's idempotency key is `schedule:<tick ISO>`, so a
 * tick queues exactly one run whichever workers see it. The run is queued and the schedule
 * advanced in one transaction: a crash between the two is impossible, not merely harmless.
 *
 * Missed ticks (every worker down, or a schedule faster than the look interval) are not made
 * up: a due schedule fires ONE run, for its most recent tick at or before now, and moves on to
 * the first tick after now. A burst of catch-up runs would hit the tenant's budget and any
 * external system at once for work that is stale anyway; `scheduled_for` in the run's input
 * says which tick a run stands for. Disabled configs (circuit breaker) are not due at all, and
 * resume from their next tick after being enabled.
 */
export class RunScheduler extends BackgroundTask {
  constructor(private readonly options: RunSchedulerOptions) {
    super(options);
  }

  /** One look: fires every due schedule it can. Returns the runs this worker queued. */
  override async tick(): Promise<ScheduledRun[]> {
    const fired: ScheduledRun[] = [];
    for (;;) {
      const due = await callDefiner<{ tenant_id: string; id: string }>(this.options.orm, 'select tenant_id, id from runlane_due_schedules(?)', [
        this.options.batchSize,
      ]);
      const results = await Promise.allSettled(due.map((d) => this.fire(d.tenant_id, d.id)));
      let progress = 0;
      for (const r of results) {
        if (r.status === 'rejected') this.options.onError(r.reason);
        else if (r.value) {
          progress++;
          if (r.value.created) fired.push(r.value);
        }
      }
      // Another batch only when this one was full and moved: what is left due is then either
      // new work or rows another worker holds, and the loop ends once nothing moves.
      if (due.length < this.options.batchSize || progress === 0 || !this.active) return fired;
    }
  }

  /**
   * Fires one config's due tick in its tenant's transaction; null when there is nothing to do
   * (another worker holds or already advanced it, it was disabled or lost its schedule).
   */
  async fire(tenantId: string, configId: string): Promise<ScheduledRun | null> {
    return inTenant(this.options.orm, tenantId, async (em) => {
      const [row] = await em.execute<DueRow[]>(
        `select c.agent_blueprint, c.schedule, c.schedule_next_at, now() as now, t.timezone
           from agent_configs c join tenants t on t.id = c.tenant_id
          where c.id = ? and c.schedule is not null and c.schedule_next_at <= now() and c.disabled_at is null
          for update of c skip locked`,
        [configId],
      );
      if (!row) return null;
      const dueAt = new Date(row.schedule_next_at);
      const now = new Date(row.now);
      let tick: Date;
      let nextAt: Date | null;
      try {
        tick = latestFireTime(row.schedule, dueAt, now, row.timezone) ?? dueAt;
        nextAt = nextFireTime(row.schedule, now, row.timezone);
      } catch (err) {
        // A schedule that cannot be evaluated (validated on write, so not expected) stops firing.
        await em.execute('update agent_configs set schedule_next_at = null where id = ?', [configId]);
        this.options.onError(err);
        return null;
      }
      const scheduledFor = tick.toISOString();
      let enqueued;
      try {
        enqueued = await enqueueIn(
          em,
          tenantId,
          row.agent_blueprint,
          { input: { scheduled_for: scheduledFor }, idempotencyKey: `schedule:${scheduledFor}` },
          'schedule',
        );
      } catch (err) {
        // Disabled: not due (the row lock keeps the breaker out meanwhile), but never fire one.
        if (err instanceof ConflictError) return null;
        throw err;
      }
      // No version bump: the scheduler's bookkeeping is not an edit of the config.
      await em.execute('update agent_configs set schedule_next_at = ? where id = ?', [nextAt, configId]);
      return {
        tenantId,
        configId,
        blueprint: row.agent_blueprint,
        scheduledFor: tick,
        runId: enqueued.run.id,
        created: enqueued.created,
        nextAt,
      };
    });
  }
}
