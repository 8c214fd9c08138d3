import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { findExecutable } from './interpreters';
import { FakeServer, scriptStep, waitFor, workerHarness } from './test-server';

let server: FakeServer;
const harness = workerHarness();
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'runlane-exec-test-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeEach(async () => {
  server = await new FakeServer().start();
  await server.setWorkspace('default', { 'README.md': 'hello\n', 'scripts/hello.sh': 'echo "from source in $(basename "$PWD")"\necho \'OUTPUT: {"source": true}\'\n', 'sub/.keep': '' });
});
afterEach(async () => {
  await harness.cleanup();
  await server.close();
});

async function run(claim: ReturnType<typeof scriptStep>, timeoutMs = 5_000) {
  server.enqueue(claim, claim.action_type === 'docker' ? ['docker'] : ['script']);
  const result = await waitFor(() => server.completeOf(claim.job_id, claim.step_name), timeoutMs, `completion of ${claim.job_id}`);
  return { result, lines: server.linesOf(claim.job_id, claim.step_name) };
}

describe('script steps on the local runner', () => {
  it('reports start, streams stdout and stderr, and takes the last valid OUTPUT line', async () => {
    const worker = harness.start(server);
    const claim = scriptStep(['echo hello', 'echo warn >&2', 'echo \'OUTPUT: {"n": 1}\'', 'echo \'OUTPUT:{"n": 2}\'', "echo 'OUTPUT: {broken'"].join('\n'));
    const { result } = await run(claim);
    expect(result).toEqual({ output: { n: 2 }, exit_code: 0, error: null });
    expect(server.starts).toEqual([{ jobId: claim.job_id, step: 'run', workerId: worker.workerId, at: expect.any(Number) }]);
    const lines = await waitFor(() => {
      const l = server.linesOf(claim.job_id, 'run');
      return l.length >= 5 && l;
    });
    expect(lines.map((l) => [l.stream, l.line])).toEqual(
      expect.arrayContaining([
        ['stdout', 'hello'],
        ['stderr', 'warn'],
        ['stdout', "OUTPUT: {broken"],
      ]),
    );
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.line)).toEqual(['hello', 'OUTPUT: {"n": 1}', 'OUTPUT:{"n": 2}', 'OUTPUT: {broken']);
  });

  it('fails with the exit code and the tail of stderr, keeping any output', async () => {
    harness.start(server);
    const { result } = await run(scriptStep('echo \'OUTPUT: {"partial": true}\'\necho "it broke" >&2\nexit 3'));
    expect(result).toEqual({ output: { partial: true }, exit_code: 3, error: 'Exit code: 3\nStderr: it broke' });
  });

  it('gives the step RUNLANE_* and its action env, the safe worker variables, and nothing else', async () => {
    process.env.RUNLANE_TEST_SECRET = 'do-not-leak';
    try {
      harness.start(server);
      const claim = scriptStep('env | sort\necho "cwd=$PWD"', { spec: { env: { GREETING: 'hi there', COUNT: 3 } }, task_name: 'deploy' });
      const { result } = await run(claim);
      expect(result.exit_code).toBe(0);
      const lines = await waitFor(() => {
        const l = server.linesOf(claim.job_id, 'run');
        return l.some((x) => x.line.startsWith('cwd=')) && l.map((x) => x.line);
      });
      const env = Object.fromEntries(lines.filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      expect(env).toMatchObject({
        RUNLANE_JOB_ID: claim.job_id,
        RUNLANE_TASK_NAME: 'deploy',
        RUNLANE_STEP_NAME: 'run',
        RUNLANE_WORKSPACE: 'default',
        GREETING: 'hi there',
        COUNT: '3',
        PATH: process.env.PATH,
      });
      expect(env.RUNLANE_WORKSPACE_DIR).toBe(lines.find((l) => l.startsWith('cwd='))!.slice(4));
      expect(readFileSync(join(env.RUNLANE_WORKSPACE_DIR!, 'README.md'), 'utf8')).toBe('hello\n');
      expect(env.RUNLANE_TEST_SECRET).toBeUndefined();
      const all = lines.join('\n');
      expect(all).not.toContain(server.token);
      expect(all).not.toContain('do-not-leak');
      // Only the documented worker variables (and what the shell sets itself) are there.
      const inherited = Object.keys(env).filter((k) => !k.startsWith('RUNLANE_') && !['GREETING', 'COUNT'].includes(k));
      const shellOwn = ['PWD', 'SHLVL', 'OLDPWD', '_'];
      expect(inherited.filter((k) => !shellOwn.includes(k)).sort()).toEqual(['HOME', 'LANG', 'PATH', 'TMPDIR'].filter((k) => process.env[k] !== undefined).sort());
    } finally {
      delete process.env.RUNLANE_TEST_SECRET;
    }
  });

  it('runs a workspace source file in a workdir', async () => {
    harness.start(server);
    const { result, lines } = await run(scriptStep('', { spec: { script: null, source: 'scripts/hello.sh', workdir: 'sub' } }));
    expect(result).toEqual({ output: { source: true }, exit_code: 0, error: null });
    expect(lines.map((l) => l.line)).toContain('from source in sub');
  });

  it('runs python and javascript', async () => {
    harness.start(server);
    const js = await run(scriptStep('console.log("OUTPUT: " + JSON.stringify({ js: process.env.RUNLANE_STEP_NAME }))', { spec: { language: 'javascript' } }));
    expect(js.result).toEqual({ output: { js: 'run' }, exit_code: 0, error: null });
    if (findExecutable('python3', process.env.PATH) || findExecutable('python', process.env.PATH)) {
      const py = await run(scriptStep('import json, os\nprint("OUTPUT: " + json.dumps({"py": os.environ["RUNLANE_WORKSPACE"]}))', { spec: { language: 'python' } }));
      expect(py.result).toEqual({ output: { py: 'default' }, exit_code: 0, error: null });
    }
  });

  it('fails clearly when a language has no interpreter here, and logs why on stderr', async () => {
    harness.start(server);
    const missing = await run(scriptStep('echo x', { spec: { interpreter: 'no-such-interpreter-xyz' } }));
    expect(missing.result).toEqual({ output: null, exit_code: -1, error: 'interpreter not found: no-such-interpreter-xyz' });
    expect(missing.lines).toEqual([expect.objectContaining({ stream: 'stderr', line: 'interpreter not found: no-such-interpreter-xyz' })]);
    if (!findExecutable('bun', process.env.PATH) && !findExecutable('deno', process.env.PATH)) {
      const ts = await run(scriptStep('console.log(1)', { spec: { language: 'typescript' } }));
      expect(ts.result.exit_code).toBe(-1);
      expect(ts.result.error).toMatch(/^no interpreter for typescript/);
    }
  });

  it('abandons a step the server says is no longer its own, without reporting it', async () => {
    harness.start(server);
    const claim = scriptStep('echo never');
    server.startStatus.set(`${claim.job_id}/run`, 409);
    server.enqueue(claim);
    await waitFor(() => server.queued === 0 && server.claimRequests.length > 2);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.completes).toEqual([]);
  });
});

describe('stopping a step', () => {
  it('times out: SIGTERM first, and the step reports the timeout', async () => {
    harness.start(server);
    const claim = scriptStep("trap 'echo got-term; exit 0' TERM\necho started\nsleep 30 &\nwait $!", { timeout_secs: 1 });
    const started = Date.now();
    const { result } = await run(claim);
    expect(result).toEqual({ output: null, exit_code: -1, error: 'Step timed out after 1s' });
    expect(Date.now() - started).toBeLessThan(2_500);
    const lines = await waitFor(() => {
      const l = server.linesOf(claim.job_id, 'run').map((x) => x.line);
      return l.includes('got-term') && l;
    });
    expect(lines).toEqual(['started', 'got-term']);
  });

  it('times out: a process ignoring SIGTERM is killed after the grace', async () => {
    harness.start(server, { timings: { killGraceMs: 400 } });
    const claim = scriptStep("trap '' TERM\necho started\nsleep 30", { timeout_secs: 1 });
    const started = Date.now();
    const { result } = await run(claim);
    const elapsed = Date.now() - started;
    expect(result).toEqual({ output: null, exit_code: -1, error: 'Step timed out after 1s' });
    expect(elapsed).toBeGreaterThanOrEqual(1_350);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('is cancelled through the cancellation poll', async () => {
    harness.start(server);
    const claim = scriptStep('echo running\nsleep 30');
    server.enqueue(claim);
    await waitFor(() => server.linesOf(claim.job_id, 'run').some((l) => l.line === 'running'));
    server.cancel(claim.job_id);
    const result = await waitFor(() => server.completeOf(claim.job_id, 'run'), 3_000);
    expect(result).toEqual({ output: null, exit_code: -1, error: 'Step cancelled' });
    expect(server.cancelPolls.filter((id) => id === claim.job_id).length).toBeGreaterThan(0);
  });
});

describe('container runners', () => {
  it('fails a docker step clearly when this worker has no docker', async () => {
    harness.start(server, { tags: ['script', 'docker'], dockerBinary: null });
    const claim = scriptStep('', { action_type: 'docker', runner: 'none', action_image: 'alpine:3', spec: { type: 'docker', script: null, image: 'alpine:3', cmd: ['echo', 'hi'] } });
    const { result, lines } = await run(claim);
    expect(result).toEqual({ output: null, exit_code: -1, error: 'docker is not available on this worker' });
    expect(lines).toEqual([expect.objectContaining({ stream: 'stderr', line: 'docker is not available on this worker' })]);
    const scriptOnDocker = scriptStep('echo hi', { runner: 'docker' });
    expect((await run(scriptOnDocker)).result.error).toBe('docker is not available on this worker');
  });

  it('runs docker steps through the docker CLI', async () => {
    const argsFile = join(scratch, 'docker-args.txt');
    const fakeDocker = join(scratch, 'docker');
    writeFileSync(fakeDocker, `#!/bin/sh\nprintf '%s\\n' "$@" > ${argsFile}\necho 'OUTPUT: {"container": true}'\n`);
    chmodSync(fakeDocker, 0o755);
    harness.start(server, { tags: ['script', 'docker'], dockerBinary: fakeDocker });
    const claim = scriptStep('', {
      action_type: 'docker',
      runner: 'none',
      action_image: 'alpine:3',
      spec: { type: 'docker', script: null, image: 'alpine:3', cmd: ['echo', 'hi'], env: { MODE: 'test' } },
    });
    const { result } = await run(claim);
    expect(result).toEqual({ output: { container: true }, exit_code: 0, error: null });
    const args = readFileSync(argsFile, 'utf8').trim().split('\n');
    expect(args.slice(0, 2)).toEqual(['run', '--rm']);
    const volume = args[args.indexOf('-v') + 1]!;
    expect(volume).toMatch(/:\/workspace:ro$/);
    expect(args[args.indexOf('-w') + 1]).toBe('/workspace');
    expect(args).toContain(`RUNLANE_JOB_ID=${claim.job_id}`);
    expect(args).toContain('MODE=test');
    expect(args.slice(-3)).toEqual(['alpine:3', 'echo', 'hi']);
    expect(args.join(' ')).not.toContain(server.token);
  });

  it('refuses pod steps clearly', async () => {
    harness.start(server, { tags: ['script', 'kubernetes'] });
    const claim = scriptStep('', { action_type: 'pod', runner: 'none', spec: { type: 'pod', script: null, image: 'alpine:3' } });
    server.enqueue(claim, ['kubernetes']);
    const result = await waitFor(() => server.completeOf(claim.job_id, 'run'));
    expect(result).toEqual({ output: null, exit_code: -1, error: 'pod runner is not supported by the reference worker' });
  });
});
