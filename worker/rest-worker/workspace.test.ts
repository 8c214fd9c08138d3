import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer, scriptStep, waitFor, workerHarness } from './test-server';

let server: FakeServer;
let cacheDir: string;
const harness = workerHarness();

beforeEach(async () => {
  server = await new FakeServer().start();
  cacheDir = mkdtempSync(join(tmpdir(), 'runlane-ws-test-'));
});
afterEach(async () => {
  await harness.cleanup();
  await server.close();
  rmSync(cacheDir, { recursive: true, force: true });
});

const revisionsOnDisk = () => readdirSync(join(cacheDir, 'default')).filter((n) => !n.startsWith('.')).sort();

async function runStep(script: string, extra: Parameters<typeof scriptStep>[1] = {}) {
  const claim = scriptStep(script, extra);
  server.enqueue(claim);
  const result = await waitFor(() => server.completeOf(claim.job_id, claim.step_name), 5_000);
  return { claim, result, lines: () => server.linesOf(claim.job_id, claim.step_name).map((l) => l.line) };
}

describe('workspace cache', () => {
  it('downloads once, then reuses the revision on 304, and skips the download when the claim names a cached revision', async () => {
    const r1 = await server.setWorkspace('default', { 'data.txt': 'one\n', 'bin/tool.sh': { content: 'echo tool-ran\n', mode: 0o755 } });
    harness.start(server, { cacheDir });
    const first = await runStep('cat data.txt\n./bin/tool.sh');
    expect(first.result.exit_code).toBe(0);
    await waitFor(() => first.lines().length === 2);
    expect(first.lines()).toEqual(['one', 'tool-ran']);
    expect(server.downloads).toEqual([{ workspace: 'default', ifNoneMatch: null, revision: null, status: 200 }]);
    expect(readFileSync(join(cacheDir, 'default', '.current'), 'utf8')).toBe(r1);
    expect(revisionsOnDisk()).toEqual([r1]);

    await runStep('cat data.txt');
    expect(server.downloads.at(-1)).toEqual({ workspace: 'default', ifNoneMatch: `"${r1}"`, revision: null, status: 304 });

    const downloads = server.downloads.length;
    const pinned = await runStep('cat data.txt', { revision: r1 });
    expect(pinned.result.exit_code).toBe(0);
    expect(server.downloads).toHaveLength(downloads);
  });

  it('keeps two revisions, but never removes one a running step uses', async () => {
    const r1 = await server.setWorkspace('default', { 'v.txt': 'v1\n' });
    harness.start(server, { cacheDir });
    const long = scriptStep('echo started\nsleep 0.8\ncat v.txt');
    server.enqueue(long);
    await waitFor(() => server.linesOf(long.job_id, 'run').length > 0);

    const r2 = await server.setWorkspace('default', { 'v.txt': 'v2\n' });
    const second = await runStep('cat v.txt');
    await waitFor(() => second.lines().length > 0);
    expect(second.lines()).toEqual(['v2']);
    const r3 = await server.setWorkspace('default', { 'v.txt': 'v3\n' });
    await runStep('cat v.txt');
    expect(revisionsOnDisk()).toEqual([r1, r2, r3].sort());

    expect(await waitFor(() => server.completeOf(long.job_id, 'run'))).toMatchObject({ exit_code: 0 });
    await waitFor(() => server.linesOf(long.job_id, 'run').length === 2);
    expect(server.linesOf(long.job_id, 'run').map((l) => l.line)).toEqual(['started', 'v1']);
    await waitFor(() => revisionsOnDisk().length === 2, 2_000, 'the unused revision to be removed');
    expect(revisionsOnDisk()).toEqual([r2, r3].sort());

    const downloads = server.downloads.length;
    const pinned = await runStep('cat v.txt', { revision: r2 });
    await waitFor(() => pinned.lines().length > 0);
    expect(pinned.lines()).toEqual(['v2']);
    expect(server.downloads).toHaveLength(downloads);

    // A revision the cache no longer holds is fetched by name; the current one stays current.
    const old = await runStep('cat v.txt', { revision: r1 });
    await waitFor(() => old.lines().length > 0);
    expect(old.lines()).toEqual(['v1']);
    expect(server.downloads.at(-1)).toEqual({ workspace: 'default', ifNoneMatch: `"${r3}"`, revision: r1, status: 200 });
    expect(readFileSync(join(cacheDir, 'default', '.current'), 'utf8')).toBe(r3);
  });

  it('fails the step with -1 and logs why when the workspace cannot be fetched', async () => {
    harness.start(server, { cacheDir });
    const claim = scriptStep('echo never', { workspace: 'missing' });
    server.enqueue(claim);
    const result = await waitFor(() => server.completeOf(claim.job_id, 'run'));
    expect(result).toEqual({ output: null, exit_code: -1, error: "Workspace 'missing' not found on the server" });
    expect(server.linesOf(claim.job_id, 'run')).toEqual([expect.objectContaining({ stream: 'stderr', line: "Workspace 'missing' not found on the server" })]);
    expect(server.starts).toEqual([]);
  });
});
