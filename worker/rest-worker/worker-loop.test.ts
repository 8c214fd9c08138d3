import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeServer, scriptStep, waitFor, workerHarness } from './test-server';
import { WorkerFatalError } from './worker';

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

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('registration', () => {
  it('retries a failing server with exponential back-off, then registers', async () => {
    server.registerFailures = [503, 503, 503];
    const worker = harness.start(server, { name: 'box-1', timings: { registerBackoffBaseMs: 20, registerBackoffMaxMs: 1_000 } });
    await waitFor(() => worker.workerId);
    expect(server.registerAttempts).toHaveLength(4);
    const [a, b, c] = gaps(server.registerAttempts);
    // min(base × 2^attempt, max): 40, 80, 160 ms.
    expect(a).toBeGreaterThanOrEqual(35);
    expect(b).toBeGreaterThanOrEqual(75);
    expect(c).toBeGreaterThanOrEqual(150);
    expect(server.workers).toEqual([{ id: worker.workerId, name: 'box-1', tags: ['script'], version: expect.stringMatching(/^\d+\.\d+\.\d+/) }]);
    expect([...server.authHeaders]).toEqual([`Bearer ${server.token}`]);
  });

  it('gives up at once when the token is refused', async () => {
    const worker = harness.start(server, { token: 'rl_wrong' });
    const started = Date.now();
    await expect(worker.done).rejects.toBeInstanceOf(WorkerFatalError);
    await expect(worker.done).rejects.toThrow(/refused the worker token/);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(server.claimRequests).toHaveLength(0);
  });

  it('heartbeats, and registers again when the server no longer knows the worker', async () => {
    server.heartbeatFailures = [500, 404];
    const worker = harness.start(server, { timings: { heartbeatMs: 40 } });
    const first = await waitFor(() => worker.workerId);
    await waitFor(() => worker.workerId !== first, 3_000, 'a second registration');
    expect(server.workers.map((w) => w.id)).toEqual([first, worker.workerId]);
    await waitFor(() => server.heartbeats.at(-1) === worker.workerId, 3_000, 'a heartbeat of the new registration');
    await waitFor(() => server.claimRequests.at(-1)?.worker_id === worker.workerId);
  });

  it('registers again when a claim says the worker is unknown (the server lost its data)', async () => {
    const worker = harness.start(server);
    const first = await waitFor(() => worker.workerId);
    await waitFor(() => server.claimRequests.length > 0);
    server.forgetWorkers();
    await waitFor(() => worker.workerId !== first, 3_000, 'a new registration');
    const claim = scriptStep('echo again');
    server.enqueue(claim);
    expect(await waitFor(() => server.completeOf(claim.job_id, 'run'))).toMatchObject({ exit_code: 0 });
    expect(server.starts.at(-1)!.workerId).toBe(worker.workerId);
  });
});

describe('claiming', () => {
  it('backs off while idle (base × 2^min(idle−1, 2)) and claims again soon after work', async () => {
    harness.start(server, { timings: { pollMs: 40 } });
    await waitFor(() => server.claimRequests.length >= 5, 3_000);
    const idle = gaps(server.claimRequests.slice(0, 5).map((c) => c.at));
    expect(idle[0]).toBeGreaterThanOrEqual(35);
    expect(idle[1]).toBeGreaterThanOrEqual(75);
    expect(idle[2]).toBeGreaterThanOrEqual(155);
    expect(idle[3]).toBeGreaterThanOrEqual(155);
    expect(idle[3]).toBeLessThan(300);
    const claim = scriptStep('echo ok');
    server.enqueue(claim);
    const claimedAt = await waitFor(() => server.completes.length && server.claimRequests.length, 3_000);
    await waitFor(() => server.claimRequests.length >= claimedAt + 1);
    const [workAt, nextAt] = [server.claimRequests[claimedAt - 1]!.at, server.claimRequests[claimedAt]!.at];
    expect(nextAt - workAt).toBeLessThan(150);
  });

  it('goes on claiming after a 422 (the server failed a step it could not render) and after a 500', async () => {
    server.enqueueRenderFailure('template error in step run');
    server.claimFailures = [];
    harness.start(server);
    await waitFor(() => server.queued === 0);
    server.claimFailures = [500];
    const claim = scriptStep('echo fine');
    server.enqueue(claim);
    expect(await waitFor(() => server.completeOf(claim.job_id, 'run'))).toMatchObject({ exit_code: 0 });
  });

  it('never runs more steps at once than its concurrency', async () => {
    const worker = harness.start(server, { concurrency: 2 });
    const claims = Array.from({ length: 5 }, () => scriptStep('sleep 0.3'));
    for (const c of claims) server.enqueue(c);
    let peak = 0;
    await waitFor(() => {
      peak = Math.max(peak, worker.running());
      return server.completes.length === 5;
    }, 8_000);
    expect(peak).toBe(2);
    const intervals = claims.map((c) => [server.starts.find((s) => s.jobId === c.job_id)!.at, server.completes.find((s) => s.jobId === c.job_id)!.at] as const);
    for (const [start] of intervals) {
      expect(intervals.filter(([s, e]) => s <= start && start < e).length).toBeLessThanOrEqual(2);
    }
  });
});

describe('stop()', () => {
  it('stops claiming and lets running steps finish', async () => {
    const worker = harness.start(server);
    const claim = scriptStep('echo begin\nsleep 0.4\necho \'OUTPUT: {"finished": true}\'');
    server.enqueue(claim);
    await waitFor(() => server.linesOf(claim.job_id, 'run').length > 0);
    const stopping = worker.stop();
    const claimsAtStop = server.claimRequests.length;
    await stopping;
    expect(server.completeOf(claim.job_id, 'run')).toEqual({ output: { finished: true }, exit_code: 0, error: null });
    expect(server.claimRequests.length).toBeLessThanOrEqual(claimsAtStop + 1);
    expect(worker.running()).toBe(0);
    await expect(worker.done).resolves.toBeUndefined();
  });

  it('kills what is still running when the drain time is over and reports it failed', async () => {
    const worker = harness.start(server, { timings: { drainMs: 300, killGraceMs: 300 } });
    const claim = scriptStep("trap '' TERM\necho begin\nsleep 30");
    server.enqueue(claim);
    await waitFor(() => server.linesOf(claim.job_id, 'run').length > 0);
    const started = Date.now();
    await worker.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(server.completeOf(claim.job_id, 'run')).toEqual({ output: null, exit_code: -1, error: 'worker shutting down' });
  });
});
