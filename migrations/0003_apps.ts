import { Migration } from '@mikro-orm/migrations';
import { definerFunction, tenantIsolation } from './sql';

// Apps: tenant-registered MCP servers, their tool catalog and probe health.
export class Migration0003Apps extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table apps (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null,
  slug text not null,
  display_name text not null,
  description text,
  mcp_server_url text not null,
  auth_type text not null,
  -- The header's name is configuration, not a secret; its value is in auth_ciphertext.
  auth_header_name text,
  auth_ciphertext bytea,
  auth_hint text,
  status text not null default 'active',
  failure_streak integer not null default 0,
  discovered_tools jsonb not null default '[]',
  enabled_tools text[] not null default '{}',
  metadata jsonb not null default '{}',
  last_probed_at timestamptz,
  last_probe_ok boolean,
  last_probe_error text,
  last_probe_latency_ms integer,
  -- The periodic prober's schedule and its lease: one probe per app at a time, whichever worker.
  next_probe_at timestamptz not null default now(),
  probe_lease_until timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint apps_slug check (slug ~ '^[a-z][a-z0-9-]{0,62}$'),
  constraint apps_status check (status in ('active', 'unhealthy', 'disabled')),
  constraint apps_auth_type check (auth_type in ('bearer', 'header', 'none')),
  constraint apps_auth_secret check ((auth_type = 'none') = (auth_ciphertext is null)),
  constraint apps_auth_header check ((auth_type = 'header') = (auth_header_name is not null)),
  constraint apps_failure_streak check (failure_streak >= 0)
);
create unique index apps_tenant_slug_key on apps (tenant_id, slug);
create index apps_tenant_created_idx on apps (tenant_id, created_at desc, id desc);
create index apps_due_idx on apps (next_probe_at) where status <> 'disabled';

${tenantIsolation('apps')}

grant select, insert, update, delete on apps to runlane_app;

-- The periodic prober claims due apps across every tenant: ids only, under a lease, skipping
-- rows another worker is claiming right now. The probe itself runs in the tenant's transaction.
grant select, update on apps to runlane_definer;
create function runlane_claim_app_probes(p_limit integer, p_lease_seconds integer)
returns table (tenant_id uuid, id uuid)
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.apps a
     set probe_lease_until = now() + make_interval(secs => p_lease_seconds)
   where (a.tenant_id, a.id) in (
     select d.tenant_id, d.id from public.apps d
      where d.status <> 'disabled'
        and d.next_probe_at <= now()
        and (d.probe_lease_until is null or d.probe_lease_until < now())
      order by d.next_probe_at
      limit p_limit
      for update skip locked)
  returning a.tenant_id, a.id
$$;
${definerFunction('runlane_claim_app_probes(integer, integer)')}
`);
  }
}
