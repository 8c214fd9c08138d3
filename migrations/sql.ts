// SQL fragments every migration repeats, written once so that no table is protected differently.

const TENANT = `nullif(current_setting('app.tenant_id', true), '')::uuid`;

/** ENABLE + FORCE row-level security with the one tenant policy (DESIGN §2). */
export function tenantIsolation(table: string, column = 'tenant_id'): string {
  return `
alter table ${table} enable row level security;
alter table ${table} force row level security;
create policy tenant_isolation on ${table}
  using (${column} = ${TENANT})
  with check (${column} = ${TENANT});
`;
}

/**
 * Hands a SECURITY DEFINER function to runlane_definer and lets only the application call it.
 * The new owner needs CREATE on the schema for the hand-over, and only for that moment.
 */
export function definerFunction(signature: string): string {
  return `
grant create on schema public to runlane_definer;
alter function ${signature} owner to runlane_definer;
revoke create on schema public from runlane_definer;
revoke all on function ${signature} from public;
grant execute on function ${signature} to runlane_app;
`;
}

/**
 * The lease-queue functions of one work table (DESIGN §3): claim, renew and sweep, each a
 * SECURITY DEFINER function that returns ids and lease tokens only. The table has `tenant_id`,
 * `id`, `status`, `run_at`, `lease_token`, `lease_owner`, `lease_expires_at` and `attempts`;
 * `ready` is the status of claimable rows, `running` of leased ones. Written once so runs and
 * workflow steps lease the same way.
 */
export function leaseQueueFunctions(options: { table: string; prefix: string; ready: string; running: string }): string {
  const { table, prefix, ready, running } = options;
  return `
grant select, update on ${table} to runlane_definer;

create function ${prefix}_claim(p_owner text, p_limit integer, p_lease_seconds integer)
returns table (tenant_id uuid, id uuid, lease_token uuid)
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.${table} t
     set status = '${running}',
         lease_token = gen_random_uuid(),
         lease_owner = p_owner,
         lease_expires_at = now() + make_interval(secs => p_lease_seconds),
         attempts = t.attempts + 1
   where (t.tenant_id, t.id) in (
     select q.tenant_id, q.id from public.${table} q
      where q.status = '${ready}' and q.run_at <= now()
      order by q.run_at, q.id
      limit p_limit
      for update skip locked)
  returning t.tenant_id, t.id, t.lease_token
$$;
${definerFunction(`${prefix}_claim(text, integer, integer)`)}

-- Extends the leases still held; a token whose row moved on (cancelled, swept) is not returned.
create function ${prefix}_renew(p_tokens uuid[], p_lease_seconds integer)
returns table (id uuid, lease_token uuid)
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.${table} t
     set lease_expires_at = now() + make_interval(secs => p_lease_seconds)
   where t.lease_token = any (p_tokens) and t.status = '${running}'
  returning t.id, t.lease_token
$$;
${definerFunction(`${prefix}_renew(uuid[], integer)`)}

-- Orphan recovery: expired leases go back to the queue; the next holder replays the journal.
create function ${prefix}_sweep()
returns table (tenant_id uuid, id uuid)
language sql volatile security definer set search_path = pg_catalog, public
as $$
  update public.${table} t
     set status = '${ready}', lease_token = null, lease_owner = null, lease_expires_at = null
   where (t.tenant_id, t.id) in (
     select q.tenant_id, q.id from public.${table} q
      where q.status = '${running}' and q.lease_expires_at < now()
      for update skip locked)
  returning t.tenant_id, t.id
$$;
${definerFunction(`${prefix}_sweep()`)}
`;
}
