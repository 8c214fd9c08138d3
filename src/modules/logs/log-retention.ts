import { BackgroundTask } from '../../platform/periodic-task';
import type { Orm } from '../../db/orm';
import { callDefiner } from '../../db/tenant-transaction';

export type LogRetentionOptions = {
  orm: Orm;
  /** Lines older than this many days go; 0 keeps every line forever. */
  retentionDays: number;
  /** How often each worker sweeps; every wait is jittered by ±50 %. */
  tickMs: number;
  /** Lines deleted per statement; a full batch is followed at once by another. */
  batchSize: number;
  onError: (err: unknown) => void;
};

/**
 * Deletes log lines past the retention period, for every tenant, in the background of worker
 * processes. Any number of workers may run one: a line two sweepers pick is deleted once. The
 * cutoff is taken from the database clock, the one that stamped the lines.
 */
export class LogRetention extends BackgroundTask {
  constructor(private readonly options: LogRetentionOptions) {
    super(options);
  }

  override start(): void {
    if (this.options.retentionDays > 0) super.start();
  }

  /** One sweep: batch after batch until one comes back short. Returns how many lines it deleted. */
  override async tick(): Promise<number> {
    const { orm, retentionDays, batchSize } = this.options;
    if (retentionDays <= 0) return 0;
    let deleted = 0;
    for (;;) {
      const [row] = await callDefiner<{ deleted: number }>(
        orm,
        'select runlane_sweep_log_lines(now() - make_interval(days => ?), ?) as deleted',
        [retentionDays, batchSize],
      );
      deleted += row!.deleted;
      if (row!.deleted < batchSize || !this.active) return deleted;
    }
  }
}
