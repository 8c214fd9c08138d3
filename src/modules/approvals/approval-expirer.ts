import { BackgroundTask } from '../../platform/periodic-task';
import type { Orm } from '../../db/orm';
import { callDefiner } from '../../db/tenant-transaction';
import type { ApprovalService } from './approval.service';

export type ApprovalExpirerOptions = {
  orm: Orm;
  approvals: ApprovalService;
  /** How often each worker looks for lapsed approvals; every wait is jittered by ±50 %. */
  tickMs: number;
  /** Approvals read per look; a full batch that moved is followed at once by another. */
  batchSize: number;
  onError: (err: unknown) => void;
};

/**
 * Expires pending approvals past their deadline in the background of a worker process, which
 * puts their runs back in the queue (the worker treats expiry as a rejection). Any number of
 * workers may run one: each expiry is a compare-and-set on 'pending', so two workers reading the
 * same ids expire each once.
 */
export class ApprovalExpirer extends BackgroundTask {
  constructor(private readonly options: ApprovalExpirerOptions) {
    super(options);
  }

  /** One look: expires every lapsed approval it can. Returns how many this worker expired. */
  override async tick(): Promise<number> {
    let expired = 0;
    for (;;) {
      const lapsed = await callDefiner<{ tenant_id: string; id: string }>(
        this.options.orm,
        'select tenant_id, id from runlane_expired_approvals(?)',
        [this.options.batchSize],
      );
      const results = await Promise.allSettled(lapsed.map((a) => this.options.approvals.expire(a.tenant_id, a.id)));
      let progress = 0;
      for (const r of results) {
        if (r.status === 'rejected') this.options.onError(r.reason);
        else if (r.value) progress++;
      }
      expired += progress;
      // What is left after a batch that moved nothing belongs to another worker (or keeps failing).
      if (lapsed.length < this.options.batchSize || progress === 0 || !this.active) return expired;
    }
  }
}
