import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as a new user runs it: no DATABASE_URL, no master key, no Redis. Only the data
// directory and port are moved so the test does not collide with a developer's own instance.
const root = join(import.meta.dirname, '../..');
let dataDir: string;
const children: ChildProcess[] = [];

function start(): Promise<{ child: ChildProcess; port: number; output: () => string; startedMs: number }> {
  const began = Date.now();
  const env: Record<string, string> = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', RUNLANE_DATA_DIR: dataDir, PORT: '0' };
  const child = spawn('npm', ['start', '--silent'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not listening after 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /"port":(\d+)[^\n]*listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output, startedMs: Date.now() - began });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
}

/** SIGTERM to the whole group, as a terminal or a process manager would; resolves on exit. */
function stop(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    process.kill(-child.pid!, 'SIGTERM');
  });
}

async function waitClosed(port: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    if (!(await portOpen(port))) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

afterAll(async () => {
  for (const child of children) {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group has already exited
    }
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('npm start with no setup', () => {
  it('starts embedded PostgreSQL, creates the default tenant, prints its token once and serves', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'runlane-start-'));
    await chmod(dataDir, 0o711);
    const first = await start();
    expect(first.startedMs).toBeLessThan(15_000);
    const token = /(rlt_[0-9A-Za-z]{49})/.exec(first.output())?.[1];
    expect(token, first.output()).toBeDefined();
    expect(first.output()).toMatch(/RUNLANE_MASTER_KEY is not set/);

    const base = `http://127.0.0.1:${first.port}`;
    const health = await fetch(`${base}/agents/v1/health`, { headers: { authorization: `Bearer ${token}` } });
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      systemComponents: { database: { ok: true }, workers: { ok: true, detail: expect.stringMatching(/of 4 slots in use$/) } },
    });
    const graphql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { accountName tenant { slug } } }' }),
    });
    expect((await graphql.json()).data.viewer).toEqual({ accountName: 'Owner', tenant: { slug: 'default' } });

    const pgPort = JSON.parse(await (await import('node:fs/promises')).readFile(join(dataDir, 'embedded.json'), 'utf8')).port;
    const stopped = await stop(first.child);
    expect(stopped.code === 0 || stopped.signal === 'SIGTERM', JSON.stringify(stopped)).toBe(true);
    expect(await waitClosed(pgPort)).toBe(true);
    expect(await waitClosed(first.port)).toBe(true);

    // Second start: same data, no new tenant, no token printed again.
    const second = await start();
    expect(second.output()).not.toMatch(/rlt_[0-9A-Za-z]{49}/);
    const again = await fetch(`http://127.0.0.1:${second.port}/agents/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(again.status).toBe(200);
    await stop(second.child);
    expect(await waitClosed(pgPort)).toBe(true);
  }, 90_000);
});
