import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { createGunzip, createGzip } from 'node:zlib';
import { extract as tarExtract, pack as tarPack, type Extract } from 'tar-stream';

/**
 * Workspace bundles as tar.gz (seed 001): what `runlane` uploads and workers download. Archives
 * come from users, so reading one trusts nothing: regular files only, no path leaves the
 * workspace, and sizes are bounded while inflating, before a gzip bomb can fill memory.
 */

export type ArchiveFile = { path: string; content: Buffer; mode: number };
export type ArchiveLimits = { maxFiles?: number; maxBytes?: number };

export class ArchiveError extends Error {
  override name = 'ArchiveError';
}

export const DEFAULT_MAX_FILES = 5_000;
export const DEFAULT_MAX_BYTES = 50 * 1024 * 1024;
/** Directories `packDirectory` leaves out at any depth: VCS data, dependencies, local state. */
const SKIPPED_DIRECTORIES = new Set(['.git', 'node_modules', '.runlane']);

/** The files of a tar.gz, sorted by path; `ArchiveError` when it is not a safe, bounded workspace. */
export async function readArchive(archive: Buffer, limits: ArchiveLimits = {}): Promise<ArchiveFile[]> {
  const maxFiles = limits.maxFiles ?? DEFAULT_MAX_FILES;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) throw new ArchiveError('not a gzip file (expected a .tar.gz archive)');

  const extract = tarExtract();
  // The tar stream carries headers and padding besides the contents: allow for them, not more.
  const feeding = feed(archive, extract, maxBytes + (maxFiles + 16) * 2048);
  const files = new Map<string, ArchiveFile>();
  const directories = new Set<string>();
  let total = 0;
  try {
    for await (const entry of extract) {
      const { header } = entry;
      const path = safePath(header.name);
      // tar-stream leaves `type` null for type flags it does not know (GNU sparse files, …).
      const type = (header.type as string | null) ?? 'entry of an unknown type';
      if (type === 'directory') {
        entry.resume();
        if (path) directories.add(path);
        continue;
      }
      if (type !== 'file' && type !== 'contiguous-file') {
        entry.resume();
        throw new ArchiveError(`"${header.name}" is ${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type.replace(/-/g, ' ')}; a workspace holds regular files only`);
      }
      if (!path) throw new ArchiveError(`an entry has an empty path ("${header.name}")`);
      if (files.has(path)) throw new ArchiveError(`"${path}" appears twice in the archive`);
      if (files.size >= maxFiles) throw new ArchiveError(`the archive holds more than ${maxFiles} files`);
      if ((header.size ?? 0) > maxBytes - total) throw tooLarge(maxBytes);
      const chunks: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) throw tooLarge(maxBytes);
        chunks.push(chunk);
      }
      files.set(path, { path, content: Buffer.concat(chunks), mode: (header.mode ?? 0o644) & 0o777 });
    }
  } catch (err) {
    throw asArchiveError(err);
  }
  await feeding;

  for (const path of [...files.keys(), ...directories]) {
    for (let cut = path.lastIndexOf('/'); cut > 0; cut = path.lastIndexOf('/', cut - 1)) {
      const parent = path.slice(0, cut);
      if (files.has(parent)) throw new ArchiveError(`"${parent}" is both a file and a directory`);
    }
  }
  return [...files.values()].sort(byPath);
}

/**
 * Inflates `archive` into `extract`, at the pace the reader consumes it, and stops with an error
 * as soon as more than `maxInflated` bytes come out.
 */
async function feed(archive: Buffer, extract: Extract, maxInflated: number): Promise<void> {
  const gunzip = createGunzip();
  gunzip.end(archive);
  let inflated = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > maxInflated) throw new ArchiveError(`the archive inflates to more than ${formatMiB(maxInflated)}`);
      if (extract.destroyed) return;
      if (!extract.write(chunk)) {
        await new Promise<void>((resolve) => {
          extract.once('drain', resolve);
          extract.once('close', resolve);
        });
      }
    }
    // (streamx ignores an undefined chunk; the typings want an argument)
    if (!extract.destroyed) extract.end(undefined);
  } catch (err) {
    extract.destroy(asArchiveError(err));
  } finally {
    gunzip.destroy();
  }
}

/** A tar.gz of `files` that depends only on their paths, contents and executable bits. */
export async function packFiles(files: ArchiveFile[]): Promise<Buffer> {
  const seen = new Set<string>();
  const entries = files.map((f) => {
    const path = safePath(f.path);
    if (!path) throw new ArchiveError(`a file has an empty path ("${f.path}")`);
    if (seen.has(path)) throw new ArchiveError(`"${path}" is given twice`);
    seen.add(path);
    return { ...f, path };
  });
  entries.sort(byPath);
  const pack = tarPack();
  const gzip = createGzip({ level: 9 });
  const output = buffer(gzip);
  pack.on('error', (err: Error) => gzip.destroy(err));
  pack.pipe(gzip);
  for (const file of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        // Fixed metadata, so the same files always give the same bytes.
        { name: file.path, size: file.content.length, mode: isExecutable(file.mode) ? 0o755 : 0o644, mtime: new Date(0), uid: 0, gid: 0, uname: '', gname: '', type: 'file' },
        file.content,
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }
  pack.finalize();
  return output;
}

/** A workspace folder as a tar.gz: symlinks and `.git`, `node_modules`, `.runlane` are left out. */
export async function packDirectory(dir: string, limits: ArchiveLimits = {}): Promise<Buffer> {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxFiles = limits.maxFiles ?? DEFAULT_MAX_FILES;
  const listed = await listWorkspaceFiles(dir);
  if (listed.length > maxFiles) throw new ArchiveError(`${dir} holds more than ${maxFiles} files`);
  const files: ArchiveFile[] = [];
  let total = 0;
  for (const file of listed) {
    const content = await readFile(file.absolutePath);
    total += content.length;
    // Fail here rather than have the server refuse the upload.
    if (total > maxBytes) throw new ArchiveError(`${dir} holds more than ${formatMiB(maxBytes)}`);
    files.push({ path: file.path, content, mode: file.mode });
  }
  return packFiles(files);
}

/**
 * The regular files of a workspace folder, with workspace-relative `/` paths, sorted. Symlinks
 * are skipped, never followed: one could point outside the workspace.
 */
export async function listWorkspaceFiles(dir: string): Promise<{ path: string; absolutePath: string; mode: number }[]> {
  const out: { path: string; absolutePath: string; mode: number }[] = [];
  const walk = async (absolute: string, relative: string): Promise<void> => {
    for (const dirent of await readdir(absolute, { withFileTypes: true })) {
      const childAbsolute = join(absolute, dirent.name);
      const childRelative = relative ? `${relative}/${dirent.name}` : dirent.name;
      if (dirent.isDirectory()) {
        if (!SKIPPED_DIRECTORIES.has(dirent.name)) await walk(childAbsolute, childRelative);
      } else if (dirent.isFile()) {
        const stats = await lstat(childAbsolute);
        out.push({ path: childRelative, absolutePath: childAbsolute, mode: stats.mode & 0o777 });
      }
    }
  };
  await walk(dir, '');
  return out.sort(byPath);
}

/**
 * A workspace revision: sha256 over the files' paths, executable bits and contents in path order.
 * Other metadata (mtimes, owners, archive order, compression) does not change it, so the same
 * files uploaded twice are the same revision.
 */
export function revisionOf(files: ArchiveFile[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort(byPath)) {
    // Lengths frame each field, so no two different file sets hash the same bytes.
    const path = Buffer.from(file.path, 'utf8');
    hash.update(`${path.length}:`).update(path).update(isExecutable(file.mode) ? 'x' : '-').update(`${file.content.length}:`).update(file.content);
  }
  return hash.digest('hex');
}

/**
 * Writes an archive's files into `dir` (created if missing; it must be empty, so nothing there,
 * such as a planted symlink, can redirect a write). Executable bits are kept.
 */
export async function extractArchive(archive: Buffer, dir: string, limits?: ArchiveLimits): Promise<void> {
  const files = await readArchive(archive, limits);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) throw new ArchiveError(`cannot extract into ${dir}: it is not empty`);
  for (const file of files) {
    const target = join(dir, ...file.path.split('/'));
    const mode = isExecutable(file.mode) ? 0o755 : 0o644;
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content, { flag: 'wx', mode });
    // The process umask may have masked bits off at creation.
    await chmod(target, mode);
  }
}

/** A normalized workspace-relative path ('' for the root), or `ArchiveError` for one that could escape it. */
function safePath(name: string): string {
  if (name.includes('\0')) throw new ArchiveError(`a path holds a NUL byte: ${JSON.stringify(name)}`);
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw new ArchiveError(`"${name}" is an absolute path; paths must be relative to the workspace`);
  if (name.includes('\\')) throw new ArchiveError(`"${name}" holds a backslash; use / in paths`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError(`"${name}" climbs out of the workspace with ".."`);
  return parts.join('/');
}

function asArchiveError(err: unknown): ArchiveError {
  if (err instanceof ArchiveError) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && e.code.startsWith('Z_')) return new ArchiveError(`not a valid gzip stream (${e.message})`);
  if (e?.message === 'Unexpected end of data') return new ArchiveError('the archive is truncated (unexpected end of data)');
  if (/tar header|Invalid header|Header exceeds/i.test(e?.message ?? '')) return new ArchiveError(`not a valid tar archive (${e.message})`);
  return new ArchiveError(`the archive cannot be read: ${e?.message ?? String(err)}`);
}

function tooLarge(maxBytes: number): ArchiveError {
  return new ArchiveError(`the archive's files add up to more than ${formatMiB(maxBytes)}`);
}

function formatMiB(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB` : `${bytes} bytes`;
}

function isExecutable(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}
