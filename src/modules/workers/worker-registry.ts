import { randomUUID } from 'node:crypto';
import type { Orm } from '../../db/orm';
import { inTenantSql, type SqlRunner } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import { isUuid } from '../../db/ids';
import type { Actor } from '../../platform/auth';

export type WorkerStatus = 'active' | 'inactive';

/** An external REST worker (seed 001) of one tenant. */
export type RestWorker = {
  id: string;
  name: string;
  tags: string[];
  version: string | null;
  status: WorkerStatus;
  accountId: string | null;
  lastHeartbeatAt: Date;
  registeredAt: Date;
};

const TAG = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const MAX_TAGS = 64;

export function workerFromRow(r: Record<string, any>): RestWorker {
  return {
    id: r.id,
    name: r.name,
    tags: r.tags ?? [],
    version: r.version ?? null,
    status: r.status,
    accountId: r.account_id ?? null,
    lastHeartbeatAt: new Date(r.last_heartbeat_at),
    registeredAt: new Date(r.registered_at),
  };
}

/** A worker's tag list as given in register or claim bodies: strings, deduplicated. */
export function checkTags(tags: unknown, field = 'tags'): string[] {
  if (!Array.isArray(tags)) throw new InputError(`${field} must be an array of strings`, field);
  if (tags.length > MAX_TAGS) throw new InputError(`${field} may hold at most ${MAX_TAGS} tags`, field);
  for (const tag of tags) {
    if (typeof tag !== 'string' || !TAG.test(tag)) throw new InputError(`${field} must be tags of letters, digits, '_', '.', ':' or '-' (at most 64 each)`, field);
  }
  return [...new Set(tags as string[])].sort();
}

export function checkWorkerId(id: unknown): string {
  if (typeof id !== 'string' || !isUuid(id)) throw new InputError('worker_id must be the id /worker/register returned', 'worker_id');
  return id;
}

/**
 * Liveness of one worker in the caller's transaction: any call from it counts as a heartbeat and
 * revives it; answers its registered tags, or NotFoundError for an id this tenant never issued.
 */
export async function touchWorker(sql: SqlRunner, workerId: string): Promise<string[]> {
  const [row] = await sql.execute<{ tags: string[] }[]>(
    `update workers set last_heartbeat_at = now(), status = 'active' where id = ? returning tags`,
    [workerId],
  );
  if (!row) throw new NotFoundError('Worker');
  return row.tags;
}

/** The REST workers of each tenant: registration, heartbeats, the list operators see. */
export class WorkerRegistry {
  constructor(private readonly deps: { orm: Orm }) {}

  async register(actor: Actor, body: { name?: unknown; tags?: unknown; version?: unknown }): Promise<RestWorker> {
    const name = body.name;
    if (typeof name !== 'string' || name.trim() === '' || name.length > 200) throw new InputError('name must be a non-empty string of at most 200 characters', 'name');
    const tags = checkTags(body.tags);
    const version = body.version === undefined || body.version === null ? null : body.version;
    if (version !== null && (typeof version !== 'string' || version.length > 100)) throw new InputError('version must be a string of at most 100 characters', 'version');
    const [row] = await inTenantSql(this.deps.orm, actor.tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(
        `insert into workers (tenant_id, id, name, tags, version, account_id) values (?, ?, ?, ?::text[], ?, ?) returning *`,
        [actor.tenantId, randomUUID(), name, tags, version, actor.accountId ?? null],
      ),
    );
    return workerFromRow(row!);
  }

  /** Seed 001: updates last-seen and reactivates a worker marked inactive. */
  async heartbeat(tenantId: string, workerId: unknown): Promise<void> {
    const id = checkWorkerId(workerId);
    await inTenantSql(this.deps.orm, tenantId, (sql) => touchWorker(sql, id));
  }

  async list(tenantId: string): Promise<RestWorker[]> {
    const rows = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<Record<string, any>[]>(`select * from workers order by status, last_heartbeat_at desc, id`),
    );
    return rows.map(workerFromRow);
  }

  async find(tenantId: string, id: string): Promise<RestWorker | null> {
    if (!isUuid(id)) return null;
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<Record<string, any>[]>(`select * from workers where id = ?`, [id]));
    return row ? workerFromRow(row) : null;
  }

  /** Forgets a worker (an operator's clean-up); steps it ran keep its id. */
  async delete(tenantId: string, id: string): Promise<RestWorker> {
    if (!isUuid(id)) throw new NotFoundError('Worker');
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<Record<string, any>[]>(`delete from workers where id = ? returning *`, [id]));
    if (!row) throw new NotFoundError('Worker');
    return workerFromRow(row);
  }
}
