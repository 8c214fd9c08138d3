import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { findUntraversableAncestor, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/db/embedded';

async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(1_000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function postgresOsUser(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    return { uid, gid };
  } catch {
    return undefined;
  }
}

const isRoot = process.getuid?.() === 0;
const cleanup: string[] = [];
const started: EmbeddedDatabase[] = [];

/** mkdtemp makes 0700 directories, which the postgres OS user (used when running as root) cannot enter. */
async function makeDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'runlane-embtest-'));
  cleanup.push(dir);
  await fs.chmod(dir, 0o711);
  return dir;
}

afterAll(async () => {
  await Promise.allSettled(started.map((db) => db.stop()));
  for (const dir of cleanup) await fs.rm(dir, { recursive: true, force: true });
});

describe('startEmbeddedDatabase', () => {
  it('starts, is reused by a second caller, stops and restarts with its data', { timeout: 60_000 }, async () => {
    const dataDir = await makeDataDir();
    const logged: string[] = [];
    const log = (msg: string) => logged.push(msg);

    const first = await startEmbeddedDatabase({ dataDir, log });
    started.push(first);
    expect(first.startedHere).toBe(true);
    expect(first.port).toBeGreaterThan(0);
    expect(first.port).not.toBe(5432);

    // The app role, its password, and the migrated schema (RLS hides every row without a tenant).
    const [who] = await query<{ current_user: string }>(first.appUrl, 'select current_user');
    expect(who?.current_user).toBe('runlane_app');
    const [count] = await query<{ count: string }>(first.appUrl, 'select count(*) from tenants');
    expect(count?.count).toBe('0');
    const [admin] = await query<{ current_user: string; current_database: string }>(
      first.adminUrl,
      'select current_user, current_database()',
    );
    expect(admin).toEqual({ current_user: 'postgres', current_database: 'runlane' });
    await query(first.adminUrl, `insert into tenants (id, slug, name) values ($1, 'kept', 'Kept')`, [randomUUID()]);

    // Files and modes.
    const secretsStat = await fs.stat(path.join(dataDir, 'embedded.json'));
    expect(secretsStat.mode & 0o777).toBe(0o600);
    const secrets = JSON.parse(await fs.readFile(path.join(dataDir, 'embedded.json'), 'utf8')) as Record<string, unknown>;
    expect(secrets.port).toBe(first.port);
    await expect(fs.stat(path.join(dataDir, 'pg', 'PG_VERSION'))).resolves.toBeTruthy();

    // A second caller (another runlane process, say) finds the running server.
    const second = await startEmbeddedDatabase({ dataDir, log });
    expect(second.startedHere).toBe(false);
    expect(second.port).toBe(first.port);
    expect(second.appUrl).toBe(first.appUrl);
    await second.stop(); // not started there: a no-op
    expect(await tcpConnects(first.port)).toBe(true);

    await first.stop();
    await first.stop(); // idempotent
    expect(await tcpConnects(first.port)).toBe(false);
    await expect(fs.stat(path.join(dataDir, 'pg', 'postmaster.pid'))).rejects.toThrow();

    // Restart of the existing cluster: same port (saved), data kept.
    const third = await startEmbeddedDatabase({ dataDir, log });
    started.push(third);
    expect(third.startedHere).toBe(true);
    expect(third.port).toBe(first.port);
    const rows = await query<{ slug: string }>(third.adminUrl, 'select slug from tenants');
    expect(rows).toEqual([{ slug: 'kept' }]);
    const [again] = await query<{ count: string }>(third.appUrl, 'select count(*) from tenants');
    expect(again?.count).toBe('0');
    await third.stop();
    expect(await tcpConnects(third.port)).toBe(false);

    // Nothing logged on the happy path, and never a password.
    expect(logged).toEqual([]);
  });

  it('removes a stale postmaster.pid', { timeout: 60_000 }, async () => {
    const dataDir = await makeDataDir();
    const log = () => undefined;
    const db = await startEmbeddedDatabase({ dataDir, log });
    started.push(db);
    await db.stop();

    // What a crash leaves behind: a pid file naming a process that no longer exists.
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    await fs.writeFile(pidFile, `999999999\n${path.join(dataDir, 'pg')}\n0\n${db.port}\n\n127.0.0.1\n0 0\nready\n`);
    const restarted = await startEmbeddedDatabase({ dataDir, log });
    started.push(restarted);
    expect(restarted.startedHere).toBe(true);
    const [who] = await query<{ current_user: string }>(restarted.appUrl, 'select current_user');
    expect(who?.current_user).toBe('runlane_app');
    await restarted.stop();
  });
});

describe('findUntraversableAncestor', () => {
  it('finds the first directory the user cannot enter', async () => {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'runlane-traverse-'));
    cleanup.push(root);
    const stranger = { uid: 4_000_001, gid: 4_000_001 };
    const target = path.join(root, 'a', 'b', 'pg');
    await fs.mkdir(path.dirname(target), { recursive: true });
    await fs.chmod(root, 0o755);
    await fs.chmod(path.join(root, 'a'), 0o700);

    expect(await findUntraversableAncestor(target, stranger)).toBe(path.join(root, 'a'));
    // Root enters anything.
    expect(await findUntraversableAncestor(target, { uid: 0, gid: 0 })).toBeUndefined();

    // x for others is enough (no r needed).
    await fs.chmod(path.join(root, 'a'), 0o701);
    expect(await findUntraversableAncestor(target, stranger)).toBeUndefined();

    // The group's bits count for a member of the owning group, the owner's for the owner.
    if (isRoot) {
      await fs.chmod(path.join(root, 'a'), 0o710);
      await fs.chown(path.join(root, 'a'), 0, stranger.gid);
      expect(await findUntraversableAncestor(target, stranger)).toBeUndefined();
      await fs.chmod(path.join(root, 'a'), 0o700);
      expect(await findUntraversableAncestor(target, stranger)).toBe(path.join(root, 'a'));
      await fs.chown(path.join(root, 'a'), stranger.uid, stranger.gid);
      expect(await findUntraversableAncestor(target, stranger)).toBeUndefined();
      // ...and the owner's bits alone: no u+x, no entry even with o+x.
      await fs.chmod(path.join(root, 'a'), 0o601);
      expect(await findUntraversableAncestor(target, stranger)).toBe(path.join(root, 'a'));
    }
  });
});

describe.skipIf(!isRoot || !postgresOsUser())('as root, with a data directory postgres cannot reach', () => {
  it('keeps the cluster under the temp dir and says so', { timeout: 60_000 }, async () => {
    const privateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'runlane-private-'));
    cleanup.push(privateDir);
    await fs.chmod(privateDir, 0o700); // root-owned, closed to the postgres OS user
    const dataDir = path.join(privateDir, 'data');
    const logged: string[] = [];

    const db = await startEmbeddedDatabase({ dataDir, log: (m) => logged.push(m) });
    started.push(db);
    expect(db.startedHere).toBe(true);
    expect(logged).toHaveLength(1);
    const fallback = /cluster lives in (\S+) instead of/.exec(logged[0] ?? '')?.[1];
    expect(fallback).toBeDefined();
    expect(fallback?.startsWith(await fs.realpath(os.tmpdir()))).toBe(true);
    cleanup.push(path.dirname(fallback!));
    await expect(fs.stat(path.join(fallback!, 'PG_VERSION'))).resolves.toBeTruthy();
    await expect(fs.stat(path.join(dataDir, 'pg'))).rejects.toThrow();
    await expect(fs.stat(path.join(dataDir, 'embedded.json'))).resolves.toBeTruthy();

    const [who] = await query<{ current_user: string }>(db.appUrl, 'select current_user');
    expect(who?.current_user).toBe('runlane_app');

    // A second process finds it in the same place.
    const again = await startEmbeddedDatabase({ dataDir, log: () => undefined });
    expect(again.startedHere).toBe(false);
    expect(again.port).toBe(db.port);

    await db.stop();
    expect(await tcpConnects(db.port)).toBe(false);
    expect(logged.join('\n')).not.toMatch(/password/i);
  });
});
