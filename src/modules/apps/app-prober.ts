import type { Orm } from '../../db/orm';
import { callDefiner } from '../../db/tenant-transaction';
import type { AppService } from './app.service';

export type AppProberOptions = {
  orm: Orm;
  apps: AppService;
  /** How often each worker looks for due apps; every wait is jittered by ±50 %. */
  tickMs: number;
  /** Apps claimed per look. */
  batchSize: number;
  /** Must outlast one probe (its deadline) so a slow probe is never probed twice at once. */
  leaseSeconds: number;
  onError: (err: unknown) => void;
};

/**
 * Probes due apps in the background of a worker process. Claims go through a definer function
 * with SKIP LOCKED and a lease, so any number of worker processes share the work and an app is
 * probed by at most one of them at a time. A worker that dies mid-probe leaves a lease that
 * simply expires.
 */
export class AppProber {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(private readonly options: AppProberOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: claim a batch and probe it. Returns how many apps were probed. */
  async tick(): Promise<number> {
    const claimed = await callDefiner<{ tenant_id: string; id: string }>(
      this.options.orm,
      'select tenant_id, id from runlane_claim_app_probes(?, ?)',
      [this.options.batchSize, this.options.leaseSeconds],
    );
    const results = await Promise.allSettled(claimed.map((c) => this.options.apps.probeLeased(c.tenant_id, c.id)));
    for (const r of results) if (r.status === 'rejected') this.options.onError(r.reason);
    return claimed.length;
  }

  private schedule(): void {
    if (this.stopped) return;
    const wait = Math.round(this.options.tickMs * (0.5 + Math.random()));
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .catch(this.options.onError)
        .finally(() => {
          this.running = null;
          this.schedule();
        });
    }, wait);
    this.timer.unref();
  }
}
