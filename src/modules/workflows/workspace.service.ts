import { randomUUID } from 'node:crypto';
import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import { InputError, NotFoundError } from '../../db/errors';
import type { Actor } from '../../platform/auth';
import { recordAuditSql } from '../audit/audit.service';
import type { WorkspaceDefinition } from './definition/types';
import { parseWorkspaceFiles } from './definition/workflow-yaml';
import { ArchiveError, readArchive, revisionOf } from './definition/workspace-archive';
import { WorkspaceInvalidError } from './workflow.errors';

export type Workspace = {
  id: string;
  name: string;
  revision: string;
  definition: WorkspaceDefinition;
  fileCount: number;
  sizeBytes: number;
  createdAt: Date;
  updatedAt: Date;
};

export type UploadResult = { workspace: Workspace; changed: boolean };

/** The most bytes an uploaded archive may have (compressed); the unpacked limits are readArchive's. */
export const MAX_ARCHIVE_BYTES = 20 * 1024 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Revisions kept besides the current one and those an unfinished job still uses. */
const KEEP_REVISIONS = 5;

function workspaceFromRow(r: Record<string, any>): Workspace {
  return {
    id: r.id,
    name: r.name,
    revision: r.revision,
    definition: r.definition,
    fileCount: r.file_count,
    sizeBytes: Number(r.size_bytes),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

export function checkWorkspaceName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InputError('Workspace name must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.', 'name');
  }
  return name;
}

const SELECT = `select w.id, w.name, w.revision, w.created_at, w.updated_at, r.definition, r.file_count, r.size_bytes
                  from workspaces w join workspace_revisions r on r.workspace_id = w.id and r.revision = w.revision`;

/**
 * Workspaces (seed 001): versioned bundles of files whose `.workflows/*.yaml` define actions and
 * tasks. An upload is checked whole before anything is stored; its revision is the hash of its
 * contents, so uploading the same files again changes nothing.
 */
export class WorkspaceService {
  constructor(private readonly deps: { orm: Orm }) {}

  async upload(actor: Actor, name: string, archive: Buffer): Promise<UploadResult> {
    checkWorkspaceName(name);
    if (archive.length === 0) throw new InputError('The archive is empty.', 'archive');
    if (archive.length > MAX_ARCHIVE_BYTES) throw new InputError(`The archive is larger than ${MAX_ARCHIVE_BYTES / 1024 / 1024} MiB.`, 'archive');
    let files;
    try {
      files = await readArchive(archive);
    } catch (err) {
      if (err instanceof ArchiveError) throw new InputError(`The archive cannot be read: ${err.message}`, 'archive');
      throw err;
    }
    // Every file of the archive, so a `source:` naming a file it lacks is refused too.
    const parsed = parseWorkspaceFiles(files);
    if (!parsed.ok) throw new WorkspaceInvalidError(parsed.errors);
    const revision = revisionOf(files);
    const size = files.reduce((n, f) => n + f.content.length, 0);
    return inTenantSql(this.deps.orm, actor.tenantId, async (sql) => {
      const [existing] = await sql.execute<{ id: string; revision: string }[]>(`select id, revision from workspaces where name = ? for update`, [name]);
      const id = existing?.id ?? randomUUID();
      if (!existing) {
        await sql.execute(`insert into workspaces (tenant_id, id, name, revision) values (?, ?, ?, ?)`, [actor.tenantId, id, name, revision]);
      }
      await sql.execute(
        `insert into workspace_revisions (tenant_id, workspace_id, revision, archive, definition, file_count, size_bytes)
         values (?, ?, ?, ?, ?::jsonb, ?, ?) on conflict do nothing`,
        [actor.tenantId, id, revision, archive, JSON.stringify(parsed.definition), files.length, size],
      );
      const changed = existing?.revision !== revision;
      if (existing && changed) await sql.execute(`update workspaces set revision = ?, updated_at = now() where id = ?`, [revision, id]);
      if (changed) {
        await sql.execute(
          `delete from workspace_revisions r
            where r.workspace_id = ? and r.revision <> ?
              and not exists (select 1 from jobs j where j.workspace = ? and j.revision = r.revision and j.status in ('pending', 'running'))
              and r.revision not in (select revision from workspace_revisions where workspace_id = ? order by created_at desc limit ?)`,
          [id, revision, name, id, KEEP_REVISIONS],
        );
        await recordAuditSql(sql, actor, { action: 'workspace.upload', targetType: 'workspace', targetId: id, detail: { name, revision, files: files.length } });
      }
      const [row] = await sql.execute<Record<string, any>[]>(`${SELECT} where w.id = ?`, [id]);
      return { workspace: workspaceFromRow(row!), changed };
    });
  }

  async list(tenantId: string): Promise<Workspace[]> {
    const rows = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<Record<string, any>[]>(`${SELECT} order by w.name`));
    return rows.map(workspaceFromRow);
  }

  async find(tenantId: string, name: string): Promise<Workspace | null> {
    if (typeof name !== 'string' || !NAME.test(name)) return null;
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<Record<string, any>[]>(`${SELECT} where w.name = ?`, [name]));
    return row ? workspaceFromRow(row) : null;
  }

  async get(tenantId: string, name: string): Promise<Workspace> {
    const workspace = await this.find(tenantId, name);
    if (!workspace) throw new NotFoundError('Workspace');
    return workspace;
  }

  /** The archive of the current revision, or of the one asked for (a job pinned to it). */
  async archive(tenantId: string, name: string, revision?: string | null): Promise<{ revision: string; archive: Buffer }> {
    if (typeof name !== 'string' || !NAME.test(name)) throw new NotFoundError('Workspace');
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) =>
      sql.execute<{ revision: string; archive: Buffer }[]>(
        `select r.revision, r.archive from workspaces w join workspace_revisions r on r.workspace_id = w.id
          where w.name = ? and r.revision = coalesce(?, w.revision)`,
        [name, revision ?? null],
      ),
    );
    if (!row) throw new NotFoundError(revision ? 'Workspace revision' : 'Workspace');
    return row;
  }

  /** The revision a worker would download now, without the archive (for 304 answers). */
  async currentRevision(tenantId: string, name: string): Promise<string | null> {
    if (typeof name !== 'string' || !NAME.test(name)) return null;
    const [row] = await inTenantSql(this.deps.orm, tenantId, (sql) => sql.execute<{ revision: string }[]>(`select revision from workspaces where name = ?`, [name]));
    return row?.revision ?? null;
  }

  /** Deletes a workspace and its revisions, answering it as it was; jobs keep their record (and their steps' specs). */
  async delete(actor: Actor, name: string): Promise<Workspace> {
    checkWorkspaceName(name);
    return inTenantSql(this.deps.orm, actor.tenantId, async (sql) => {
      const [row] = await sql.execute<Record<string, any>[]>(`${SELECT} where w.name = ? for update of w`, [name]);
      if (!row) throw new NotFoundError('Workspace');
      await sql.execute(`delete from workspaces where id = ?`, [row.id]);
      await recordAuditSql(sql, actor, { action: 'workspace.delete', targetType: 'workspace', targetId: row.id, detail: { name } });
      return workspaceFromRow(row);
    });
  }
}
