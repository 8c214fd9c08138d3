import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { pack as tarPack, type Header } from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ArchiveError, extractArchive, packDirectory, packFiles, readArchive, revisionOf, type ArchiveFile } from './workspace-archive';

/** A tar.gz written entry by entry, so tests can build archives no honest packer would. */
async function rawArchive(entries: { header: Partial<Header> & { name: string }; content?: string | Buffer }[]): Promise<Buffer> {
  const pack = tarPack();
  const out = buffer(pack.pipe(createGzip()));
  for (const { header, content } of entries) {
    await new Promise<void>((resolve, reject) => pack.entry(header, content ?? '', (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  return out;
}

const file = (path: string, content: string, mode = 0o644): ArchiveFile => ({ path, content: Buffer.from(content), mode });

async function expectArchiveError(promise: Promise<unknown>, message: RegExp) {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ArchiveError);
  expect((err as Error).message).toMatch(message);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'runlane-archive-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('packFiles and readArchive', () => {
  it('round-trip paths, contents and executable bits', async () => {
    const longPath = `${'deep/'.repeat(30)}file.txt`;
    const files = [file('run.sh', '#!/bin/sh\necho hi\n', 0o755), file('.workflows/a.yaml', 'actions: {}\n'), file(longPath, 'long'), file('empty', '')];
    const read = await readArchive(await packFiles(files));
    expect(read.map((f) => [f.path, f.content.toString(), f.mode])).toEqual([
      ['.workflows/a.yaml', 'actions: {}\n', 0o644],
      [longPath, 'long', 0o644],
      ['empty', '', 0o644],
      ['run.sh', '#!/bin/sh\necho hi\n', 0o755],
    ]);
  });

  it('packs deterministically: same files in any order give identical bytes', async () => {
    const files = [file('b.txt', 'b'), file('a/x.sh', 'x', 0o700), file('a/y.txt', 'y', 0o600), file(`${'n'.repeat(150)}.txt`, 'long')];
    const first = await packFiles(files);
    const second = await packFiles([...files].reverse());
    expect(second.equals(first)).toBe(true);
    // Only the executable bit is kept, and no owner or time leaks in.
    const tar = gunzipSync(first).toString('latin1');
    expect(tar).not.toContain(process.env.USER || 'root');
    const read = await readArchive(first);
    expect(read.map((f) => f.mode)).toEqual([0o755, 0o644, 0o644, 0o644]);
  });

  it('refuses unsafe or duplicate paths when packing', async () => {
    await expectArchiveError(packFiles([file('../x', 'x')]), /climbs out/);
    await expectArchiveError(packFiles([file('/etc/passwd', 'x')]), /absolute path/);
    await expectArchiveError(packFiles([file('a\0b', 'x')]), /NUL/);
    await expectArchiveError(packFiles([file('a', '1'), file('./a', '2')]), /"a" is given twice/);
  });

  it('reads archives made by GNU tar, directories and ./ prefixes included', async () => {
    await mkdir(join(dir, 'src/.workflows'), { recursive: true });
    await writeFile(join(dir, 'src/.workflows/a.yaml'), 'tasks: {}\n');
    await writeFile(join(dir, 'src/run.sh'), 'echo\n', { mode: 0o755 });
    await chmod(join(dir, 'src/run.sh'), 0o755);
    const archive = execFileSync('tar', ['-czf', '-', '-C', join(dir, 'src'), '.']);
    const read = await readArchive(archive);
    expect(read.map((f) => [f.path, f.mode & 0o111 ? 'x' : '-'])).toEqual([
      ['.workflows/a.yaml', '-'],
      ['run.sh', 'x'],
    ]);
    // The revision depends on the files, not on who packed them.
    expect(revisionOf(read)).toBe(revisionOf(await readArchive(await packDirectory(join(dir, 'src')))));
  });
});

describe('readArchive refuses', () => {
  it('garbage that is not gzip', async () => {
    await expectArchiveError(readArchive(Buffer.from('hello, not an archive')), /not a gzip file/);
    await expectArchiveError(readArchive(Buffer.alloc(0)), /not a gzip file/);
  });

  it('gzip that is not a tar', async () => {
    await expectArchiveError(readArchive(gzipSync(Buffer.from('just some text '.repeat(100)))), /not a valid tar archive/);
  });

  it('a corrupt or truncated archive', async () => {
    const archive = await packFiles([file('a.txt', 'x'.repeat(100_000) + Math.random())]);
    await expectArchiveError(readArchive(archive.subarray(0, archive.length / 2)), /gzip|truncated/);
    const corrupt = Buffer.from(archive);
    corrupt[20] = corrupt[20]! ^ 0xff;
    corrupt[21] = corrupt[21]! ^ 0xff;
    await expectArchiveError(readArchive(corrupt), /./);
    const tarBytes = gunzipSync(await packFiles([file('a.txt', 'y'.repeat(5000))]));
    await expectArchiveError(readArchive(gzipSync(tarBytes.subarray(0, 1024))), /truncated/);
  });

  it.each([
    ['../escape.txt', /climbs out of the workspace/],
    ['a/../../escape.txt', /climbs out of the workspace/],
    ['/etc/passwd', /absolute path/],
    ['C:/Windows/x', /absolute path/],
    ['a\\..\\x', /backslash/],
  ])('the path %j', async (name, message) => {
    await expectArchiveError(readArchive(await rawArchive([{ header: { name, type: 'file' }, content: 'x' }])), message);
  });

  it.each([
    [{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }, /"link" is a symlink; a workspace holds regular files only/],
    [{ name: 'hard', type: 'link', linkname: 'other' }, /"hard" is a link/],
    [{ name: 'dev', type: 'character-device' }, /"dev" is a character device/],
    [{ name: 'fifo', type: 'fifo' }, /"fifo" is a fifo/],
  ] as const)('a %s entry', async (header, message) => {
    await expectArchiveError(readArchive(await rawArchive([{ header: { name: 'ok.txt' }, content: 'ok' }, { header: { ...header } }])), message);
  });

  it('an entry of a type flag it does not know (here a GNU sparse file)', async () => {
    const tar = gunzipSync(await packFiles([file('sparse.bin', 'data')]));
    tar[156] = 'S'.charCodeAt(0);
    // Recompute the header checksum: the byte sum with the checksum field read as spaces.
    tar.fill(0x20, 148, 156);
    const sum = tar.subarray(0, 512).reduce((n, b) => n + b, 0);
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    await expectArchiveError(readArchive(gzipSync(tar)), /"sparse.bin" is an entry of an unknown type/);
  });

  it('a path given twice, even spelled differently', async () => {
    const archive = await rawArchive([
      { header: { name: 'a.txt' }, content: '1' },
      { header: { name: './a.txt' }, content: '2' },
    ]);
    await expectArchiveError(readArchive(archive), /"a.txt" appears twice/);
  });

  it('a path that is both a file and a directory', async () => {
    await expectArchiveError(readArchive(await rawArchive([{ header: { name: 'a' }, content: '1' }, { header: { name: 'a/b' }, content: '2' }])), /"a" is both a file and a directory/);
  });

  it('more files than the limit', async () => {
    const files = Array.from({ length: 11 }, (_, i) => file(`f${i}.txt`, String(i)));
    await expect(readArchive(await packFiles(files.slice(0, 10)), { maxFiles: 10 })).resolves.toHaveLength(10);
    await expectArchiveError(readArchive(await packFiles(files), { maxFiles: 10 }), /more than 10 files/);
  });

  it('files adding up to more than the size limit', async () => {
    const archive = await packFiles([file('a.bin', 'a'.repeat(600_000)), file('b.bin', 'b'.repeat(600_000))]);
    await expect(readArchive(archive, { maxBytes: 1_200_000 })).resolves.toHaveLength(2);
    await expectArchiveError(readArchive(archive, { maxBytes: 1_000_000 }), /add up to more than/);
  });

  it('a gzip bomb, stopping while inflating it', async () => {
    // 1 GiB of zeros in about 1 MiB: 128 copies of one gzip member (members concatenate when
    // inflated). The reader must give up long before inflating it all.
    const member = gzipSync(Buffer.alloc(8 * 1024 * 1024), { level: 9 });
    const bomb = Buffer.concat(Array.from({ length: 128 }, () => member));
    expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
    const before = process.memoryUsage().rss;
    const started = Date.now();
    await expectArchiveError(readArchive(bomb), /inflates to more than/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
  }, 30_000);

  it('a file whose header claims more than the limit, before reading it', async () => {
    const archive = await packFiles([file('big.bin', 'z'.repeat(3 * 1024 * 1024))]);
    await expectArchiveError(readArchive(archive, { maxBytes: 1024 * 1024 }), /add up to more than 1 MiB/);
  });
});

describe('revisionOf', () => {
  const files = [file('a.txt', 'a'), file('run.sh', 'echo', 0o755)];

  it('is a full sha256 hex digest, independent of order and of non-executable mode bits', () => {
    const revision = revisionOf(files);
    expect(revision).toMatch(/^[0-9a-f]{64}$/);
    expect(revisionOf([...files].reverse())).toBe(revision);
    expect(revisionOf([file('a.txt', 'a', 0o600), file('run.sh', 'echo', 0o700)])).toBe(revision);
  });

  it('changes with any content, path or executable bit', () => {
    const revision = revisionOf(files);
    expect(revisionOf([file('a.txt', 'b'), files[1]!])).not.toBe(revision);
    expect(revisionOf([file('b.txt', 'a'), files[1]!])).not.toBe(revision);
    expect(revisionOf([files[0]!, file('run.sh', 'echo', 0o644)])).not.toBe(revision);
    expect(revisionOf([...files, file('empty', '')])).not.toBe(revision);
    // Framing keeps a path/content boundary shift from hashing the same.
    expect(revisionOf([file('ab', 'c')])).not.toBe(revisionOf([file('a', 'bc')]));
  });

  it('is the same after a pack and read round trip', async () => {
    expect(revisionOf(await readArchive(await packFiles(files)))).toBe(revisionOf(files));
  });
});

describe('packDirectory', () => {
  it('packs regular files recursively, skipping .git, node_modules, .runlane and symlinks', async () => {
    const root = join(dir, 'ws');
    await mkdir(join(root, '.workflows'), { recursive: true });
    await mkdir(join(root, 'scripts/node_modules/pkg'), { recursive: true });
    await mkdir(join(root, '.git'), { recursive: true });
    await mkdir(join(root, '.runlane'), { recursive: true });
    await writeFile(join(root, '.workflows/a.yaml'), 'tasks: {}\n');
    await writeFile(join(root, 'scripts/run.sh'), 'echo\n');
    await chmod(join(root, 'scripts/run.sh'), 0o755);
    await writeFile(join(root, 'scripts/node_modules/pkg/index.js'), '');
    await writeFile(join(root, '.git/config'), '');
    await writeFile(join(root, '.runlane/state'), '');
    await writeFile(join(dir, 'outside.txt'), 'secret');
    await symlink(join(dir, 'outside.txt'), join(root, 'link.txt'));
    await symlink(dir, join(root, 'linked-dir'));

    const read = await readArchive(await packDirectory(root));
    expect(read.map((f) => [f.path, f.mode])).toEqual([
      ['.workflows/a.yaml', 0o644],
      ['scripts/run.sh', 0o755],
    ]);
  });

  it('refuses a folder over the size limit before packing it', async () => {
    await writeFile(join(dir, 'big.bin'), Buffer.alloc(2048));
    await expectArchiveError(packDirectory(dir, { maxBytes: 1024 }), /more than 1024 bytes/);
  });
});

describe('extractArchive', () => {
  it('writes the files with their executable bits into a new folder', async () => {
    const target = join(dir, 'out/rev1');
    await extractArchive(await packFiles([file('scripts/run.sh', '#!/bin/sh\n', 0o755), file('a/b/c.txt', 'c')]), target);
    expect(await readFile(join(target, 'a/b/c.txt'), 'utf8')).toBe('c');
    expect((await stat(join(target, 'scripts/run.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(target, 'a/b/c.txt'))).mode & 0o777).toBe(0o644);
  });

  it('writes nothing outside the folder for a hostile archive', async () => {
    const target = join(dir, 'out');
    const archive = await rawArchive([
      { header: { name: 'ok.txt' }, content: 'ok' },
      { header: { name: '../escaped.txt' }, content: 'gotcha' },
    ]);
    await expectArchiveError(extractArchive(archive, target), /climbs out/);
    expect(existsSync(join(dir, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(target, 'ok.txt'))).toBe(false);
  });

  it('refuses a folder that is not empty', async () => {
    await writeFile(join(dir, 'existing'), '');
    await expectArchiveError(extractArchive(await packFiles([file('a', 'a')]), dir), /not empty/);
  });
});
