import { BackgroundTask } from '../../platform/periodic-task';
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
export class AppProber extends BackgroundTask {
  constructor(private readonly options: AppProberOptions) {
    super(options);
  }

  /** One round: claim a batch and probe it. Returns how many apps were probed. */
  override async tick(): Promise<number> {
    const claimed = await callDefiner<{ tenant_id: string; id: string }>(
      this.options.orm,
      'select tenant_id, id from runlane_claim_app_probes(?, ?)',
      [this.options.batchSize, this.options.leaseSeconds],
    );
    const results = await Promise.allSettled(claimed.map((c) => this.options.apps.probeLeased(c.tenant_id, c.id)));
    for (const r of results) if (r.status === 'rejected') this.options.onError(r.reason);
    return claimed.length;
  }
}
