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
