import { Migration } from '@mikro-orm/migrations';
import { definerFunction, tenantIsolation } from './sql';

// Approvals (issue 6): a tool call an approval_gate paused, waiting for a person. The run waits
// without a lease (status 'waiting'); a decision (or expiry) puts it back in the queue, and the
// worker that claims it replays the journal up to this call and reads the decision here.
export class Migration0006Approvals extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table approvals (
  tenant_id uuid not null,
  id uuid not null,
  run_id uuid not null,
  -- The journal position of the paused tool call: one approval per call, whatever the replays.
  step_seq integer not null,
  tool text not null,
  tool_use_id text not null,
  input jsonb not null,
  rule_index integer not null,
  reason text not null,
  on_reject text not null,
  cost_so_far_usd_cents numeric(20, 6) not null default 0,
  status text not null default 'pending',
  expires_at timestamptz,
  decided_input jsonb,
  decision_note text,
  decided_by_account_id uuid,
  decided_by text,
  decided_at timestamptz,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, run_id) references agent_runs (tenant_id, id) on delete cascade,
  constraint approvals_status check (status in ('pending', 'approved', 'rejected', 'expired')),
  constraint approvals_on_reject check (on_reject in ('fail', 'inform_model')),
  constraint approvals_decided check ((status = 'pending') = (decided_at is null)),
  constraint approvals_note_length check (decision_note is null or length(decision_note) <= 2000)
);
create unique index approvals_run_step_key on approvals (tenant_id, run_id, step_seq);
create index approvals_tenant_status_created_idx on approvals (tenant_id, status, created_at desc, id desc);
create index approvals_tenant_created_idx on approvals (tenant_id, created_at desc, id desc);
create index approvals_expiry_idx on approvals (expires_at) where status = 'pending' and expires_at is not null;

${tenantIsolation('approvals')}
grant select, insert, update on approvals to runlane_app;
grant select on approvals to runlane_definer;

-- The expiry sweeper sees every tenant through this, ids only; it expires each in its tenant.
create function runlane_expired_approvals(p_limit integer)
returns table (tenant_id uuid, id uuid)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select a.tenant_id, a.id from public.approvals a
   where a.status = 'pending' and a.expires_at <= now()
   order by a.expires_at
   limit p_limit
$$;
${definerFunction('runlane_expired_approvals(integer)')}
`);
  }
}
