import pg from 'pg';
import { createOrm } from './orm';

/**
 * The three database roles:
 * - runlane_owner    owns every table and view (RLS is FORCEd, so even the owner obeys it);
 * - runlane_definer  owns only the narrow SECURITY DEFINER functions and may bypass RLS;
 * - runlane_app      what the application logs in as: owns nothing, no BYPASSRLS.
 */
export const ROLES = { owner: 'runlane_owner', definer: 'runlane_definer', app: 'runlane_app' } as const;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * Creates the roles (idempotently) using a superuser connection. Used by the embedded mode
 * and the tests; a production operator creates the same roles once by hand (docs/operations.md).
 */
export async function ensureRoles(adminUrl: string, appPassword?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    // Role creation races across parallel test workers; an advisory lock serialises it.
    await client.query('select pg_advisory_lock(727274)');
    const { rows } = await client.query<{ rolname: string }>(
      'select rolname from pg_roles where rolname = any($1)',
      [Object.values(ROLES)],
    );
    const existing = new Set(rows.map((r) => r.rolname));
    if (!existing.has(ROLES.owner)) {
      await client.query(`create role ${ROLES.owner} nologin nobypassrls`);
    }
    if (!existing.has(ROLES.definer)) {
      await client.query(`create role ${ROLES.definer} nologin bypassrls`);
    }
    if (!existing.has(ROLES.app)) {
      await client.query(`create role ${ROLES.app} login nobypassrls nosuperuser nocreatedb nocreaterole`);
    }
    if (appPassword !== undefined) {
      await client.query(`alter role ${ROLES.app} password ${quoteLiteral(appPassword)}`);
    }
    // The owner hands its SECURITY DEFINER functions over to the definer in migrations.
    await client.query(`grant ${ROLES.definer} to ${ROLES.owner}`);
    await client.query('select pg_advisory_unlock(727274)');
  } finally {
    await client.end();
  }
}

export async function databaseExists(adminUrl: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    return (rowCount ?? 0) > 0;
  } finally {
    await client.end();
  }
}

export async function createDatabase(adminUrl: string, name: string, template?: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const from = template ? ` template ${quoteIdent(template)}` : '';
    await client.query(`create database ${quoteIdent(name)} owner ${ROLES.owner}${from}`);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${quoteIdent(name)} with (force)`);
  } finally {
    await client.end();
  }
}

/** A copy of url pointing at another database and/or user. */
export function withDatabase(url: string, database: string, user?: string, password?: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  if (user !== undefined) u.username = user;
  if (password !== undefined) u.password = password;
  return u.toString();
}

/**
 * Applies pending migrations. `role` is set when connecting as a superuser, so that every
 * object created is owned by runlane_owner rather than by the superuser (a superuser-owned
 * view would ignore RLS).
 */
export async function migrate(url: string, role?: string): Promise<string[]> {
  const orm = await createOrm({ url, poolSize: 1, entities: [], role, applicationName: 'runlane-migrate' });
  try {
    const applied = await orm.getMigrator().up();
    return applied.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}

/**
 * `runlane migrate` against an operator's database: a superuser connection first makes sure
 * the roles exist and then acts as runlane_owner; any other connection must be the owner.
 */
export async function migrateAsOwner(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let superuser = false;
  try {
    const { rows } = await client.query<{ rolsuper: boolean }>(
      'select rolsuper from pg_roles where rolname = current_user',
    );
    superuser = rows[0]?.rolsuper ?? false;
  } finally {
    await client.end();
  }
  if (!superuser) return migrate(url);
  await ensureRoles(url);
  return migrate(url, ROLES.owner);
}
