import { Migration } from '@mikro-orm/migrations';
import { definerFunction, tenantIsolation } from './sql';

// Tenant data keys, agent configs with BYOK, integration keys and the audit log.
export class Migration0002SecretsAndConfigs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table tenant_data_keys (
  tenant_id uuid not null references tenants (id) on delete cascade,
  version integer not null,
  wrapped_key bytea not null,
  master_key_id text not null,
  created_at timestamptz not null default now(),
  rewrapped_at timestamptz,
  primary key (tenant_id, version),
  constraint tenant_data_keys_version_positive check (version > 0)
);

create table agent_configs (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  agent_blueprint text not null,
  system_prompt text,
  model text,
  tools text[] not null default '{}',
  budget_default_cents bigint,
  deadline_default_seconds integer,
  guardrails jsonb not null default '[]',
  schedule text,
  byok_status text not null default 'missing',
  byok_status_reason text,
  byok_last_probed_at timestamptz,
  byok_key_ciphertext bytea,
  byok_key_hint text,
  disabled_at timestamptz,
  disable_reason text,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint agent_configs_byok_status check (byok_status in ('missing', 'active', 'invalid', 'revoked')),
  constraint agent_configs_byok_key check ((byok_status in ('active', 'invalid')) = (byok_key_ciphertext is not null)),
  constraint agent_configs_budget check (budget_default_cents is null or budget_default_cents > 0),
  constraint agent_configs_deadline check (deadline_default_seconds is null or deadline_default_seconds > 0)
);
create unique index agent_configs_tenant_blueprint_key on agent_configs (tenant_id, agent_blueprint);

create table integration_keys (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  provider text not null,
  status text not null,
  label text,
  key_ciphertext bytea,
  key_hint text not null,
  metadata jsonb not null default '{}',
  last_verified_at timestamptz,
  revoked_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint integration_keys_provider check (provider in ('cloudflare', 'github', 'netdata', 'postmark', 'outstand')),
  constraint integration_keys_status check (status in ('active', 'invalid', 'revoked')),
  -- A revoked key is an audit row: its ciphertext is gone.
  constraint integration_keys_ciphertext check ((status = 'revoked') = (key_ciphertext is null))
);
-- At most one current (active or invalid) key per provider and tenant.
create unique index integration_keys_current_key on integration_keys (tenant_id, provider) where status <> 'revoked';
create index integration_keys_tenant_created_idx on integration_keys (tenant_id, created_at desc, id desc);

create table audit_events (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  actor_account_id uuid,
  actor text not null,
  action text not null,
  target_type text not null,
  target_id text,
  detail jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (tenant_id, id)
);
create index audit_events_tenant_created_idx on audit_events (tenant_id, created_at desc, id desc);

-- Append-only, for everyone, the owner included.
create function audit_events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_events is append-only';
end $$;
create trigger audit_events_no_update before update or delete on audit_events
  for each row execute function audit_events_append_only();
create trigger audit_events_no_truncate before truncate on audit_events
  for each statement execute function audit_events_append_only();

${tenantIsolation('tenant_data_keys')}

${tenantIsolation('agent_configs')}

${tenantIsolation('integration_keys')}

${tenantIsolation('audit_events')}

-- Data keys are only ever added and rewrapped, never removed by the application.
grant select, insert, update on tenant_data_keys to runlane_app;
grant select, insert, update, delete on agent_configs, integration_keys to runlane_app;
grant select, insert on audit_events to runlane_app;

-- Master key rotation walks every tenant's data keys: ids only, the rewrap itself happens
-- inside each tenant's transaction.
grant select on tenant_data_keys to runlane_definer;
create function runlane_data_keys_to_rewrap(p_master_key_id text, p_limit integer)
returns table (tenant_id uuid, version integer)
language sql stable security definer set search_path = pg_catalog, public
as $$
  select k.tenant_id, k.version from public.tenant_data_keys k
  where k.master_key_id <> p_master_key_id
  order by k.tenant_id, k.version
  limit p_limit
$$;
${definerFunction('runlane_data_keys_to_rewrap(text, integer)')}
`);
  }
}
