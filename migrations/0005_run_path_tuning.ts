import { Migration } from '@mikro-orm/migrations';

// Measured on the run path (bench:runs with pg_stat_statements):
// - agent_runs rows are updated four times in their life; room on each page lets the updates that
//   touch no indexed column (a run's start, lease renewals, journal counters) stay HOT, without
//   new entries in every index.
// - every log line's foreign key to tenants took a FOR KEY SHARE lock on the one tenant row, from
//   every worker at once (MultiXacts on that row). Row-level security already pins tenant_id to
//   the transaction's tenant, which exists; the row lock bought nothing.
export class Migration0005RunPathTuning extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
alter table agent_runs set (fillfactor = 70);
alter table log_lines drop constraint log_lines_tenant_id_fkey;
`);
  }
}
