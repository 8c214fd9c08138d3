import { Migration } from '@mikro-orm/migrations';
import { definerFunction } from './sql';

// Log retention (RUNLANE_LOG_RETENTION_DAYS): the sweeper deletes lines of every tenant, so it
// goes through a SECURITY DEFINER function that answers a count only.
export class Migration0007LogRetention extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
grant select, delete on log_lines to runlane_definer;

-- The oldest first along log_lines_ts_idx, at most p_limit at a time, so no statement runs long
-- or holds many locks; the caller repeats while batches come back full. The rows are found by
-- ctid (one statement, one snapshot): joining on the key instead made the planner scan the whole
-- table for every batch. Lines are never updated, so only another sweeper can hold one: it waits
-- for that sweeper and finds the line gone.
create function runlane_sweep_log_lines(p_before timestamptz, p_limit integer)
returns integer
language sql volatile security definer set search_path = pg_catalog, public
as $$
  with deleted as (
    delete from public.log_lines
     where ctid = any (array(
       select l.ctid from public.log_lines l
        where l.ts < p_before
        order by l.ts
        limit p_limit))
    returning 1)
  select count(*)::integer from deleted
$$;
${definerFunction('runlane_sweep_log_lines(timestamptz, integer)')}
`);
  }
}
