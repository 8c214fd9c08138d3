import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, type CommandArgs } from '../../src/cli/index';
import { WorkerAgentUsageError, workerAgentOptions } from '../../src/cli/worker-agent';
import { FakeServer, scriptStep, waitFor } from './test-server';

const ENTRY = `
import { workerAgentCommand } from './src/cli/worker-agent.ts';
process.exitCode = await workerAgentCommand({ positionals: [], values: JSON.parse(process.argv[1]) });`;

const args = (values: CommandArgs['values']): CommandArgs => ({ positionals: [], values });

describe('runlane worker-agent options', () => {
  it('needs --server and --token (usage error, exit code 2)', () => {
    for (const values of [{}, { server: 'http://x' }, { token: 't' }]) {
      let caught: unknown;
      try {
        workerAgentOptions(args(values));
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(WorkerAgentUsageError);
      expect((caught as WorkerAgentUsageError).exitCode).toBe(2);
    }
  });

  it('reads tags, concurrency, name, cache dir and a fractional poll interval', () => {
    expect(workerAgentOptions(args({ server: 'http://h:4000', token: 't' }))).toEqual({ server: 'http://h:4000', token: 't' });
    expect(
      workerAgentOptions(args({ server: 'http://h', token: 't', tags: 'script, docker,', concurrency: '8', name: 'box', 'cache-dir': '/c', 'poll-interval': '0.5' })),
    ).toEqual({ server: 'http://h', token: 't', tags: ['script', 'docker'], concurrency: 8, name: 'box', cacheDir: '/c', timings: { pollMs: 500 } });
    for (const bad of [{ concurrency: '0' }, { concurrency: 'x' }, { 'poll-interval': '-1' }, { tags: ',' }, { server: 'ftp://h' }]) {
      expect(() => workerAgentOptions(args({ server: 'http://h', token: 't', ...bad }))).toThrow(WorkerAgentUsageError);
    }
  });

  it('answers a missing token with exit code 2 through the CLI', async () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runCli(['worker-agent', '--server', 'http://127.0.0.1:1'])).toBe(2);
      expect(err.mock.calls.map((c) => String(c[0])).join('')).toContain('--server and --token are required');
    } finally {
      err.mockRestore();
    }
  });
});

describe('runlane worker-agent process', () => {
  let server: FakeServer;
  let cacheDir: string;
  beforeEach(async () => {
    server = await new FakeServer().start();
    await server.setWorkspace('default', { 'README.md': 'hi\n' });
    cacheDir = mkdtempSync(join(tmpdir(), 'runlane-cli-test-'));
  });
  afterEach(async () => {
    await server.close();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  /**
   * The command in a process of its own, as `runlane worker-agent` runs it, without loading every
   * other command of the CLI, which takes seconds.
   */
  function agent(token: string) {
    const values = { server: server.url, token, 'cache-dir': cacheDir, 'poll-interval': '0.05', name: 'cli-test' };
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, JSON.stringify(values)], {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exit, stderr: () => stderr };
  }

  it('exits 1 with a clear message when the token is refused', async () => {
    const proc = agent('rl_wrong_token');
    expect(await proc.exit).toBe(1);
    expect(proc.stderr()).toMatch(/refused the worker token/);
    expect(proc.stderr()).not.toContain('rl_wrong_token');
  });

  it('drains on SIGTERM: the running step finishes and is reported, then exit 0', async () => {
    const claim = scriptStep('echo begin\nsleep 0.5\necho \'OUTPUT: {"drained": true}\'');
    server.enqueue(claim);
    const proc = agent(server.token);
    await waitFor(() => server.linesOf(claim.job_id, 'run').length > 0, 10_000, 'the step to start');
    proc.child.kill('SIGTERM');
    expect(await proc.exit).toBe(0);
    expect(server.completeOf(claim.job_id, 'run')).toEqual({ output: { drained: true }, exit_code: 0, error: null });
    expect(server.workers[0]).toMatchObject({ name: 'cli-test', tags: ['script'] });
    expect(proc.stderr()).toContain('worker registered');
    expect(proc.stderr()).not.toContain(server.token);
  });
});
