import { Migration } from '@mikro-orm/migrations';
import { definerFunction, leaseQueueFunctions, tenantIsolation } from './sql';

// Agent runs: the run queue, the step journal, events, log lines, contacts and merge proposals.
export class Migration0004AgentRuns extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table agent_runs (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  config_id uuid not null,
  agent_blueprint text not null,
  status text not null default 'queued',
  input jsonb not null default '{}',
  output jsonb,
  run_at timestamptz not null default now(),
  -- Cents with six decimals: one short LLM turn costs a fraction of a cent.
  budget_usd_cents numeric(20, 6),
  deadline_seconds integer not null,
  deadline_at timestamptz,
  cost_usd_cents numeric(20, 6) not null default 0,
  platform_fee_cents numeric(20, 6) not null default 0,
  input_tokens bigint not null default 0,
  output_tokens bigint not null default 0,
  cache_read_tokens bigint not null default 0,
  cache_write_tokens bigint not null default 0,
  consecutive_failures integer not null default 0,
  failure_category text,
  failure_detail text,
  idempotency_key text,
  source text not null default 'api',
  lease_token uuid,
  lease_owner text,
  lease_expires_at timestamptz,
  attempts integer not null default 0,
  -- Last allocated sequence numbers of this run's log lines and events: allocated under this
  -- row's lock, so they are gap-free and ordered.
  log_seq bigint not null default 0,
  event_seq bigint not null default 0,
  started_at timestamptz,
  completed_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint agent_runs_status check (status in ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
  constraint agent_runs_failure_category check (failure_category is null or failure_category in
    ('auth_failed', 'tool_failed', 'guardrail_blocked', 'config_error', 'timeout', 'budget_exhausted', 'cancelled')),
  constraint agent_runs_lease check ((status = 'running') = (lease_token is not null)),
  constraint agent_runs_budget check (budget_usd_cents is null or budget_usd_cents > 0),
  constraint agent_runs_deadline check (deadline_seconds > 0)
);
create unique index agent_runs_idempotency_key on agent_runs (tenant_id, agent_blueprint, idempotency_key) where idempotency_key is not null;
create index agent_runs_tenant_created_idx on agent_runs (tenant_id, created_at desc, id desc);
create index agent_runs_blueprint_created_idx on agent_runs (tenant_id, agent_blueprint, created_at desc, id desc);
create index agent_runs_ready_idx on agent_runs (run_at, id) where status = 'queued';
create index agent_runs_lease_idx on agent_runs (lease_expires_at) where status = 'running';
create index agent_runs_failed_idx on agent_runs (tenant_id, agent_blueprint, completed_at) where status = 'failed';
create unique index agent_runs_lease_token_key on agent_runs (lease_token) where lease_token is not null;

create table agent_steps (
  tenant_id uuid not null,
  run_id uuid not null,
  seq integer not null,
  kind text not null,
  name text not null,
  content_hash text not null,
  -- Null when the payload spilled to agent_step_payloads (over 8 KiB).
  input jsonb,
  output jsonb,
  is_error boolean not null default false,
  model text,
  input_tokens integer not null default 0,
  output_tokens integer not null default 0,
  cache_read_tokens integer not null default 0,
  cache_write_tokens integer not null default 0,
  cost_usd_cents numeric(20, 6) not null default 0,
  started_at timestamptz not null,
  completed_at timestamptz not null default now(),
  primary key (tenant_id, run_id, seq),
  foreign key (tenant_id, run_id) references agent_runs (tenant_id, id) on delete cascade,
  constraint agent_steps_kind check (kind in ('llm', 'tool')),
  constraint agent_steps_seq check (seq > 0)
);
create unique index agent_steps_content_hash_key on agent_steps (tenant_id, run_id, content_hash);

create table agent_step_payloads (
  tenant_id uuid not null,
  run_id uuid not null,
  seq integer not null,
  part text not null,
  body jsonb not null,
  primary key (tenant_id, run_id, seq, part),
  foreign key (tenant_id, run_id, seq) references agent_steps (tenant_id, run_id, seq) on delete cascade,
  constraint agent_step_payloads_part check (part in ('input', 'output'))
);

create table agent_events (
  tenant_id uuid not null,
  run_id uuid not null,
  seq bigint not null,
  type text not null,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, run_id, seq),
  foreign key (tenant_id, run_id) references agent_runs (tenant_id, id) on delete cascade
);

-- One table for the logs of runs and (later) workflow jobs; seq is gap-free per source.
create table log_lines (
  tenant_id uuid not null references tenants (id) on delete cascade,
  source text not null,
  source_id uuid not null,
  seq bigint not null,
  ts timestamptz not null default now(),
  step text not null default '',
  stream text not null,
  line text not null,
  primary key (tenant_id, source, source_id, seq),
  constraint log_lines_source check (source in ('run', 'job')),
  constraint log_lines_stream check (stream in ('stdout', 'stderr', 'llm', 'tool', 'system'))
);
create index log_lines_ts_idx on log_lines (ts);

create table contacts (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  external_id text,
  name text,
  email text,
  phone text,
  company text,
  email_normalized text generated always as (nullif(lower(btrim(email)), '')) stored,
  phone_normalized text generated always as (nullif(regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'), '')) stored,
  name_normalized text generated always as (nullif(btrim(regexp_replace(lower(coalesce(name, '')), '[^a-z0-9 ]+', ' ', 'g')), '')) stored,
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint contacts_something check (coalesce(name, email, phone) is not null)
);
create unique index contacts_external_id_key on contacts (tenant_id, external_id) where external_id is not null;
create index contacts_tenant_created_idx on contacts (tenant_id, created_at desc, id desc);
create index contacts_email_idx on contacts (tenant_id, email_normalized) where email_normalized is not null;
create index contacts_phone_idx on contacts (tenant_id, phone_normalized) where phone_normalized is not null;

create table merge_proposals (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  run_id uuid,
  contact_a uuid not null,
  contact_b uuid not null,
  reason text not null,
  confidence numeric(4, 3) not null,
  status text not null default 'proposed',
  created_at timestamptz not null default now(),
  primary key (tenant_id, id),
  foreign key (tenant_id, contact_a) references contacts (tenant_id, id) on delete cascade,
  foreign key (tenant_id, contact_b) references contacts (tenant_id, id) on delete cascade,
  constraint merge_proposals_pair check (contact_a < contact_b),
  constraint merge_proposals_confidence check (confidence >= 0 and confidence <= 1),
  constraint merge_proposals_status check (status in ('proposed', 'accepted', 'rejected'))
);
-- One proposal per pair, however many runs propose it.
create unique index merge_proposals_pair_key on merge_proposals (tenant_id, contact_a, contact_b);
create index merge_proposals_tenant_created_idx on merge_proposals (tenant_id, created_at desc, id desc);

-- Schedules: when a config's cron fires next.
alter table agent_configs add column schedule_next_at timestamptz;
create index agent_configs_schedule_due_idx on agent_configs (schedule_next_at) where schedule_next_at is not null;

-- Per (tenant, blueprint) per day: what runs cost. Owned by runlane_owner, subject to FORCE RLS.
create view agent_runs_billing_daily as
  select tenant_id,
         agent_blueprint,
         (date_trunc('day', coalesce(completed_at, created_at) at time zone 'UTC'))::date as day,
         count(*)::bigint as runs,
         count(*) filter (where status = 'succeeded')::bigint as succeeded,
         count(*) filter (where status = 'failed')::bigint as failed,
         sum(cost_usd_cents) as cost_usd_cents,
         sum(platform_fee_cents) as platform_fee_cents,
         sum(input_tokens)::bigint as input_tokens,
         sum(output_tokens)::bigint as output_tokens,
         sum(cache_read_tokens)::bigint as cache_read_tokens,
         sum(cache_write_tokens)::bigint as cache_write_tokens
    from agent_runs
   group by tenant_id, agent_blueprint, 3;

${tenantIsolation('agent_runs')}
${tenantIsolation('agent_steps')}
${tenantIsolation('agent_step_payloads')}
${tenantIsolation('agent_events')}
${tenantIsolation('log_lines')}
${tenantIsolation('contacts')}
${tenantIsolation('merge_proposals')}

grant select, insert, update on agent_runs to runlane_app;
grant select, insert on agent_steps, agent_step_payloads, agent_events, log_lines to runlane_app;
grant select, insert, update, delete on contacts, merge_proposals to runlane_app;
grant select on agent_runs_billing_daily to runlane_app;

${leaseQueueFunctions({ table: 'agent_runs', prefix: 'runlane_runs', ready: 'queued', running: 'running' })}

-- Schedules due now, across tenants: ids only; the enqueue happens in the tenant's transaction,
-- idempotent per tick, so two workers firing the same tick enqueue one run.
grant select on agent_configs to runlane_definer;
create function runlane_due_schedules(p_limit integer)
returns table (tenant_id uuid, id uuid)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select c.tenant_id, c.id from public.agent_configs c
   where c.schedule_next_at <= now() and c.disabled_at is null
   order by c.schedule_next_at
   limit p_limit
$$;
${definerFunction('runlane_due_schedules(integer)')}
`);
  }
}
