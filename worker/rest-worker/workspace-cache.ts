import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extractArchive } from '../../src/modules/workflows/definition/workspace-archive';
import { ApiError, type WorkerClient } from './client';

export type WorkspaceLease = {
  /** The extracted revision: the step's workspace root. */
  dir: string;
  revision: string;
  /** The step is done with it; the revision may be cleaned up later. Idempotent. */
  release(): void;
};

export type WorkspaceCacheOptions = {
  root: string;
  client: Pick<WorkerClient, 'downloadWorkspace'>;
  /** Revisions kept per workspace (besides any still in use). Default 2. */
  keep?: number;
  extract?: (archive: Buffer, dir: string) => Promise<void>;
  onError?: (err: unknown) => void;
};

const CURRENT = '.current';

/**
 * Workspace revisions on disk (seed-systems §2.4): `<root>/<ws>/<revision>/` holds a revision's files,
 * immutable once extracted; `<root>/<ws>/.current` names the newest one known. Steps lease a revision;
 * beyond the newest `keep`, revisions no step uses any more are deleted.
 */
export class WorkspaceCache {
  private readonly refs = new Map<string, number>();
  /** Order of use in this process; breaks ties of directory times. */
  private readonly used = new Map<string, number>();
  private useSeq = 0;
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly keep: number;
  private readonly extract: (archive: Buffer, dir: string) => Promise<void>;

  constructor(private readonly options: WorkspaceCacheOptions) {
    this.keep = Math.max(1, options.keep ?? 2);
    this.extract = options.extract ?? extractArchive;
  }

  /**
   * The workspace at `revision` when the cache holds it, else that revision downloaded; without a
   * revision, the server's current one, downloaded unless the cache already has it (`If-None-Match`).
   */
  acquire(workspace: string, revision?: string | null): Promise<WorkspaceLease> {
    return this.locked(workspace, async () => {
      const wsDir = this.workspaceDir(workspace);
      await mkdir(wsDir, { recursive: true });
      let rev: string | null = null;
      if (revision && existsSync(join(wsDir, safeName(revision)))) rev = safeName(revision);
      if (!rev) rev = await this.refresh(workspace, wsDir, revision ?? null);
      const key = refKey(workspace, rev);
      this.refs.set(key, (this.refs.get(key) ?? 0) + 1);
      this.used.set(key, ++this.useSeq);
      const now = new Date();
      await utimes(join(wsDir, rev), now, now).catch(() => {});
      await this.prune(workspace, wsDir);
      let released = false;
      const leased = rev;
      return {
        dir: join(wsDir, leased),
        revision: leased,
        release: () => {
          if (released) return;
          released = true;
          const left = (this.refs.get(key) ?? 1) - 1;
          if (left > 0) this.refs.set(key, left);
          else this.refs.delete(key);
          void this.locked(workspace, () => this.prune(workspace, wsDir)).catch((err) => this.options.onError?.(err));
        },
      };
    });
  }

  /** Revisions on disk for `workspace`, newest first (for tests and diagnostics). */
  async revisions(workspace: string): Promise<string[]> {
    return (await this.listRevisions(workspace, this.workspaceDir(workspace))).map((r) => r.name);
  }

  private async refresh(workspace: string, wsDir: string, wanted: string | null): Promise<string> {
    let current: string | null = (await readFile(join(wsDir, CURRENT), 'utf8').catch(() => '')).trim() || null;
    if (current && !existsSync(join(wsDir, current))) current = null;
    let download;
    try {
      download = await this.options.client.downloadWorkspace(workspace, current, wanted);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) throw new Error(`Workspace '${workspace}' not found on the server`);
      throw new Error(`workspace download failed: ${(err as Error).message}`);
    }
    if (download.notModified) {
      if (!current) throw new Error('workspace download failed: the server answered 304 to an unconditional request');
      return current;
    }
    const rev = safeName(download.revision ?? createHash('sha256').update(download.archive).digest('hex').slice(0, 32));
    const target = join(wsDir, rev);
    if (!existsSync(target)) {
      const temp = join(wsDir, `.tmp-${randomBytes(6).toString('hex')}`);
      try {
        await mkdir(temp, { recursive: true });
        await this.extract(download.archive, temp);
        await rename(temp, target);
      } catch (err) {
        await rm(temp, { recursive: true, force: true }).catch(() => {});
        if (!existsSync(target)) throw new Error(`workspace extraction failed: ${(err as Error).message}`);
      }
    }
    // An older revision asked for by name is not the workspace's current one.
    if (!wanted || safeName(wanted) !== rev) {
      const pointer = join(wsDir, `${CURRENT}.${randomBytes(4).toString('hex')}`);
      await writeFile(pointer, rev);
      await rename(pointer, join(wsDir, CURRENT));
    }
    return rev;
  }

  /** Keeps the current revision and the most recently used ones up to `keep`, and all in use. */
  private async prune(workspace: string, wsDir: string): Promise<void> {
    const current = (await readFile(join(wsDir, CURRENT), 'utf8').catch(() => '')).trim();
    const revisions = await this.listRevisions(workspace, wsDir);
    const kept = new Set<string>();
    if (current && revisions.some((r) => r.name === current)) kept.add(current);
    for (const r of revisions) if (kept.size < this.keep) kept.add(r.name);
    for (const r of revisions) {
      if (kept.has(r.name) || this.refs.has(refKey(workspace, r.name))) continue;
      this.used.delete(refKey(workspace, r.name));
      await rm(join(wsDir, r.name), { recursive: true, force: true }).catch((err) => this.options.onError?.(err));
    }
  }

  private async listRevisions(workspace: string, wsDir: string): Promise<{ name: string; mtimeMs: number; seq: number }[]> {
    const entries = await readdir(wsDir, { withFileTypes: true }).catch(() => []);
    const result: { name: string; mtimeMs: number; seq: number }[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      const info = await stat(join(wsDir, entry.name)).catch(() => null);
      if (info) result.push({ name: entry.name, mtimeMs: info.mtimeMs, seq: this.used.get(refKey(workspace, entry.name)) ?? 0 });
    }
    return result.sort((a, b) => b.seq - a.seq || b.mtimeMs - a.mtimeMs);
  }

  private workspaceDir(workspace: string): string {
    return join(this.options.root, safeName(workspace));
  }

  /** One operation at a time per workspace, so concurrent steps never download it twice. */
  private locked<T>(workspace: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(workspace) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => {});
    this.locks.set(workspace, tail);
    void tail.then(() => {
      if (this.locks.get(workspace) === tail) this.locks.delete(workspace);
    });
    return next;
  }
}

function refKey(workspace: string, revision: string): string {
  return `${workspace}\u0000${revision}`;
}

/** A server-given name as a directory name: kept when plain, hashed otherwise. */
export function safeName(name: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name) && name !== '.' && name !== '..') return name;
  return `h-${createHash('sha256').update(name).digest('hex').slice(0, 32)}`;
}
