import { Migration } from '@mikro-orm/migrations';
import { definerFunction, tenantIsolation } from './sql';

// Tenants and service accounts. Runs as runlane_owner; RLS, grants and the narrow
// cross-tenant functions are written by hand so that they say exactly what they allow.
export class Migration0001Foundation extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table tenants (
  id uuid primary key,
  slug text not null,
  name text not null,
  timezone text not null default 'UTC',
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint tenants_slug_format check (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$')
);
-- The tenant registry itself: slugs are global by nature.
create unique index tenants_slug_key on tenants (slug);

create table accounts (
  tenant_id uuid not null references tenants (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  name text not null,
  description text,
  owner text,
  scopes text[] not null default '{}',
  status text not null default 'active',
  expires_at timestamptz,
  token_hash text not null,
  token_prefix text not null,
  token_last4 text not null,
  last_used_at timestamptz,
  last_used_ip text,
  last_auth_method text,
  rotated_at timestamptz,
  paused_at timestamptz,
  revoked_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (tenant_id, id),
  constraint accounts_status check (status in ('active', 'paused', 'revoked')),
  constraint accounts_name_length check (char_length(name) between 1 and 120),
  constraint accounts_token_hash_format check (token_hash ~ '^[0-9a-f]{64}$')
);
create unique index accounts_tenant_name_key on accounts (tenant_id, lower(name));
-- Not unique on purpose: no global unique index on tenant data. Lookups by hash go through
-- runlane_authenticate(), which never returns more than ids.
create index accounts_token_hash_idx on accounts (token_hash);
create index accounts_tenant_created_idx on accounts (tenant_id, created_at desc, id desc);

${tenantIsolation('tenants', 'id')}
${tenantIsolation('accounts')}

grant usage on schema public to runlane_app;
grant select, insert, update, delete on tenants, accounts to runlane_app;

-- Cross-tenant look-ups, owned by runlane_definer (BYPASSRLS, owns no table) and
-- answering ids only; everything else is read again inside a tenant transaction.
grant select on tenants, accounts to runlane_definer;

create function runlane_authenticate(p_token_hash text)
returns table (tenant_id uuid, account_id uuid)
language sql stable security definer set search_path = pg_catalog, public
as $$ select a.tenant_id, a.id from public.accounts a where a.token_hash = p_token_hash $$;

create function runlane_tenant_id(p_slug text)
returns uuid
language sql stable security definer set search_path = pg_catalog, public
as $$ select t.id from public.tenants t where t.slug = p_slug $$;

${definerFunction('runlane_authenticate(text)')}
${definerFunction('runlane_tenant_id(text)')}
`);
  }
}
