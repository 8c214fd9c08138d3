import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalJobClaim, LocalStep } from './protocol';
import { FakeServer, waitFor, workerHarness } from './test-server';

let server: FakeServer;
const harness = workerHarness();

beforeEach(async () => {
  server = await new FakeServer().start();
  await server.setWorkspace('default', { 'README.md': 'hello\n' });
});
afterEach(async () => {
  await harness.cleanup();
  await server.close();
});

let seq = 0;
function step(name: string, script: string, extra: Partial<LocalStep> & { spec?: Record<string, unknown> } = {}): LocalStep {
  const { spec, ...rest } = extra;
  return {
    step_name: name,
    action_name: `act-${name}`,
    action_type: 'script',
    runner: 'local',
    action_spec: { type: 'script', script, env: {}, tags: [], ...spec },
    input: {},
    depends_on: [],
    continue_on_failure: false,
    when: null,
    timeout_secs: null,
    ...rest,
  };
}

function localJob(steps: LocalStep[], input: Record<string, unknown>): LocalJobClaim {
  return { job_id: `local-${++seq}-${Date.now()}`, workspace: 'default', task_name: 'pipeline', mode: 'local', step_name: null, input, steps };
}

describe('local-mode jobs', () => {
  it('walks the DAG: renders as it goes, runs independent steps in parallel, follows the skip rules, completes the job', async () => {
    const job = localJob(
      [
        // The step input renders against the job input; the action renders against the step input.
        step('say-hello', 'echo "OUTPUT: {\\"greeting\\": \\"hello {{ input.who }}\\"}"', { input: { who: '{{ input.name }}' } }),
        step('flaky', 'echo flaky-ran; exit 1', { depends_on: ['say-hello'] }),
        step('recover', 'echo "OUTPUT: {\\"said\\": \\"{{ input.msg }}\\"}"', {
          depends_on: ['flaky'],
          continue_on_failure: true,
          input: { msg: '{{ say_hello.output.greeting }} again' },
        }),
        step('after-flaky', 'echo should-not-run', { depends_on: ['flaky'] }),
        step('optional', 'echo should-not-run', { depends_on: ['say-hello'], when: '{{ input.loud }}' }),
        step('after-optional', 'echo should-not-run', { depends_on: ['optional'] }),
        step('gated', 'echo "OUTPUT: {\\"gated\\": true}"', { depends_on: ['say-hello'], when: '{{ say_hello.output.greeting == "hello world" }}' }),
        step('par-a', 'sleep 0.3; echo \'OUTPUT: {"a": 1}\''),
        step('par-b', 'sleep 0.3; echo \'OUTPUT: {"b": 2}\''),
        step('bad-template', 'echo never', { input: { x: '{{ nobody.output.value }}' } }),
        step('bad-when', 'echo never', { when: '{{ input.missing.deep }}' }),
      ],
      { name: 'world', loud: false },
    );
    server.enqueue(job);
    harness.start(server);
    const completed = await waitFor(() => server.jobCompletes.find((j) => j.jobId === job.job_id), 8_000, 'the job completion');

    const reported = server.completes.filter((c) => c.jobId === job.job_id);
    const byStep = Object.fromEntries(reported.map((c) => [c.step, c.result]));
    expect(Object.keys(byStep).sort()).toEqual(['bad-template', 'bad-when', 'flaky', 'gated', 'par-a', 'par-b', 'recover', 'say-hello']);
    expect(byStep['say-hello']).toEqual({ output: { greeting: 'hello world' }, exit_code: 0, error: null });
    expect(byStep.flaky).toMatchObject({ exit_code: 1, error: 'Exit code: 1\nStderr: ' });
    expect(byStep.recover).toEqual({ output: { said: 'hello world again' }, exit_code: 0, error: null });
    expect(byStep.gated).toEqual({ output: { gated: true }, exit_code: 0, error: null });
    expect(byStep['bad-template']).toMatchObject({ exit_code: -1, output: null, error: expect.stringMatching(/^template error: .*nobody/) });
    expect(byStep['bad-when']).toMatchObject({ exit_code: -1, error: expect.stringMatching(/^when condition failed: /) });
    // Skipped steps are neither started nor reported.
    const started = server.starts.filter((s) => s.jobId === job.job_id).map((s) => s.step);
    expect(started).not.toContain('after-flaky');
    expect(started).not.toContain('optional');
    expect(started).not.toContain('after-optional');
    expect(started).toEqual(expect.arrayContaining(['bad-template', 'say-hello', 'recover']));
    expect(server.linesOf(job.job_id, 'flaky').map((l) => l.line)).toEqual(['flaky-ran']);
    expect(server.linesOf(job.job_id, 'bad-template')).toEqual([expect.objectContaining({ stream: 'stderr', line: byStep['bad-template']!.error })]);

    // par-a and par-b ran side by side.
    const span = (name: string) => [server.starts.find((s) => s.jobId === job.job_id && s.step === name)!.at, reported.find((c) => c.step === name)!.at];
    const [aStart, aEnd] = span('par-a');
    const [bStart, bEnd] = span('par-b');
    expect(aStart! < bEnd! && bStart! < aEnd!).toBe(true);

    // Output: completed steps nobody depends on.
    expect(completed.output).toEqual({ recover: { said: 'hello world again' }, gated: { gated: true }, 'par-a': { a: 1 }, 'par-b': { b: 2 } });
  });

  it('stops a cancelled job: the running step is killed and reported, nothing else starts, the job is not completed', async () => {
    const job = localJob([step('first', 'echo running; sleep 30'), step('second', 'echo never', { depends_on: ['first'], continue_on_failure: true })], {});
    server.enqueue(job);
    harness.start(server);
    await waitFor(() => server.linesOf(job.job_id, 'first').length > 0);
    server.cancel(job.job_id);
    expect(await waitFor(() => server.completeOf(job.job_id, 'first'), 3_000)).toEqual({ output: null, exit_code: -1, error: 'Step cancelled' });
    await new Promise((r) => setTimeout(r, 150));
    expect(server.starts.map((s) => s.step)).toEqual(['first']);
    expect(server.jobCompletes).toEqual([]);
  });

  it('applies step timeouts inside a local job', async () => {
    const job = localJob([step('slow', 'sleep 30', { timeout_secs: 1 }), step('next', "echo 'OUTPUT: {\"ok\": true}'", { depends_on: ['slow'], continue_on_failure: true })], {});
    server.enqueue(job);
    harness.start(server);
    const done = await waitFor(() => server.jobCompletes.find((j) => j.jobId === job.job_id), 4_000);
    expect(server.completeOf(job.job_id, 'slow')).toEqual({ output: null, exit_code: -1, error: 'Step timed out after 1s' });
    expect(done.output).toEqual({ next: { ok: true } });
  });
});
