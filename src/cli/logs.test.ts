import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/support/app';
import { numberedLines, startLoggedRun } from '../../test/support/live';
import { logsCommand } from './logs';
import { restClient, uploadWorkspace } from '../../test/support/workflows';

// `runlane logs` against a running server, through a TCP proxy the test can cut to play a
// dropped connection.
let server: TestServer;
let proxy: Server;
let proxyUrl: string;
const open = new Set<Socket>();

beforeAll(async () => {
  server = await startTestServer();
  proxy = createServer((client) => {
    const upstream = connect(server.port, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => undefined);
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const s of open) s.destroy();
  await new Promise((r) => proxy?.close(r));
  await server?.close();
});

const runWithJournal = () => startLoggedRun(server);
const write = (journal: Awaited<ReturnType<typeof runWithJournal>>['journal'], from: number, count: number) => journal.log(numberedLines(from, count, 'cli'));
const until = async (check: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('runlane logs', () => {
  it('--follow prints live lines, survives a dropped connection without a gap or a repeat, and exits when the run ends', async () => {
    const { t, runId, journal } = await runWithJournal();
    await write(journal, 1, 3);
    const printed: string[] = [];
    const exit = logsCommand({ positionals: [runId], values: { server: proxyUrl, token: t.token, follow: true, json: true } }, (text) =>
      printed.push(...text.trim().split('\n')),
    );
    await until(() => printed.length === 3);
    for (const s of open) s.destroy();
    await write(journal, 4, 4);
    await until(() => printed.length === 7);
    await write(journal, 8, 3);
    await journal.succeed({}, []);
    expect(await exit).toBe(0);
    const lines = printed.map((p) => JSON.parse(p));
    expect(lines.map((l) => l.line)).toEqual(Array.from({ length: 10 }, (_, i) => `line ${i + 1}`));
    expect(lines.map((l) => Number(l.cursor))).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it('without --follow prints what is there and exits; a bad token or unknown run is an error', async () => {
    const { t, runId, journal } = await runWithJournal();
    await write(journal, 1, 1500);
    const printed: string[] = [];
    expect(await logsCommand({ positionals: [runId], values: { server: server.url, token: t.token } }, (text) => printed.push(text))).toBe(0);
    const lines = printed.join('').trim().split('\n');
    expect(lines).toHaveLength(1500);
    expect(lines[0]).toMatch(/stdout cli {2}line 1$/);
    await expect(logsCommand({ positionals: [runId], values: { server: server.url, token: 'rlt_bad' } }, () => {})).rejects.toThrow();
    const other = await server.tenant();
    await expect(logsCommand({ positionals: [runId], values: { server: server.url, token: other.token } }, () => {})).rejects.toThrow(/not found/);
    await expect(logsCommand({ positionals: [], values: {} }, () => {})).rejects.toThrow(/Usage/);
  });

  it('prints a job’s log too, and --follow ends when the job ends', async () => {
    const t = await server.tenant();
    await uploadWorkspace(server.url, t.token, 'cli', {
      '.workflows/w.yaml': 'actions:\n  say: { type: script, script: "echo hi" }\ntasks:\n  one:\n    flow:\n      only: { action: say }\n',
    });
    const api = restClient(server.url, t.token);
    const jobId = (await api.post('/api/workspaces/cli/tasks/one/execute', {})).body.job_id as string;
    const workerId = (await api.post('/worker/register', { name: 'w', tags: ['script'] })).body.worker_id as string;
    await api.post('/worker/jobs/claim', { worker_id: workerId });
    await api.post(`/worker/jobs/${jobId}/logs`, { step_name: 'only', lines: [{ ts: new Date().toISOString(), stream: 'stdout', line: 'hi from the job' }] });
    const printed: string[] = [];
    expect(await logsCommand({ positionals: [jobId], values: { server: server.url, token: t.token, json: true } }, (text) => printed.push(text))).toBe(0);
    expect(printed.join('')).toContain('"line":"hi from the job"');

    const followed: string[] = [];
    const following = logsCommand({ positionals: [jobId], values: { server: server.url, token: t.token, follow: true, json: true } }, (text) => followed.push(text));
    await api.post(`/worker/jobs/${jobId}/steps/only/complete`, { output: null, exit_code: 0 });
    expect(await following).toBe(0);
    expect(followed.join('')).toContain('hi from the job');
  });
});
