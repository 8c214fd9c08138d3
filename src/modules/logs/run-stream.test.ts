import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../../../test/support/app';
import { numberedLines, RUN_LOGS, RUN_UPDATES, startLoggedRun, subscribeOverWs } from '../../../test/support/live';
import { SCOPES } from '../accounts/scopes';
import type { RunJournal } from '../runs/run-journal';
import { SlowSubscriberError } from './live-log';

// Live logs and updates of runs over graphql-ws and SSE, with the Redis bus: backlog from
// PostgreSQL, then live lines, never a gap or a repeat; scope and tenant checked at the start.
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ redis: true, env: { RUNLANE_SUBSCRIBER_BUFFER_LINES: '100' } });
});
afterAll(async () => {
  await server?.close();
});

const runWithJournal = () => startLoggedRun(server);
const lines = (from: number, count: number) => numberedLines(from, count);
const texts = (values: { line: string }[]) => values.map((v) => v.line);
const cursors = (values: { cursor: string }[]) => values.map((v) => Number(v.cursor));

async function writeInBatches(journal: RunJournal, from: number, batches: number, size: number) {
  for (let b = 0; b < batches; b++) await journal.log(lines(from + b * size, size));
}

describe('runLogs', () => {
  it('sends the backlog, then live lines in order, and completes when the run ends', async () => {
    const { t, runId, journal } = await runWithJournal();
    await journal.log(lines(1, 3));
    const sub = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId });
    await sub.received(3);
    await writeInBatches(journal, 4, 4, 5);
    await journal.succeed({ text: 'ok' }, lines(24, 1));
    expect(await sub.ended).toBe('complete');
    expect(texts(sub.values)).toEqual(Array.from({ length: 24 }, (_, i) => `line ${i + 1}`));
    expect(cursors(sub.values)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
  });

  it('resumes exactly after a cursor, including lines written while the subscriber was away', async () => {
    const { t, runId, journal } = await runWithJournal();
    await journal.log(lines(1, 5));
    const first = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId });
    await first.received(5);
    await first.close();
    const last = first.values.at(-1).cursor;
    await journal.log(lines(6, 5));
    const second = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId, after: last });
    await second.received(5);
    await journal.log(lines(11, 2));
    await journal.succeed({}, []);
    expect(await second.ended).toBe('complete');
    expect(texts(second.values)).toEqual(Array.from({ length: 7 }, (_, i) => `line ${i + 6}`));
  });

  it('a subscriber that starts after the run ended gets the whole log and completes', async () => {
    const { t, runId, journal } = await runWithJournal();
    await writeInBatches(journal, 1, 3, 400);
    await journal.succeed({}, []);
    const sub = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId });
    expect(await sub.ended).toBe('complete');
    expect(cursors(sub.values)).toEqual(Array.from({ length: 1200 }, (_, i) => i + 1));
  });

  it('over SSE too: the same stream, ending with the run', async () => {
    const { t, runId, journal } = await runWithJournal();
    await journal.log(lines(1, 2));
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ query: RUN_LOGS, variables: { runId } }),
    });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    setTimeout(() => void journal.succeed({}, lines(3, 1)), 200);
    const body = await res.text();
    const data = body
      .split('\n')
      .filter((l) => l.startsWith('data: ') && l.length > 6)
      .map((l) => JSON.parse(l.slice(6)))
      .filter((d) => d.data)
      .map((d) => d.data.runLogs.line);
    expect(data).toEqual(['line 1', 'line 2', 'line 3']);
  });

  it('another tenant’s run, a token without runs:read and a bad cursor get an error and no data', async () => {
    const { runId } = await runWithJournal();
    const other = await server.tenant();
    const stranger = subscribeOverWs(server.url, other.token, RUN_LOGS, { runId });
    expect(await stranger.ended).toBe('error');
    expect(stranger.values).toEqual([]);
    expect(stranger.errors[0]?.extensions?.code).toBe('NOT_FOUND');

    const owner = await server.tenant();
    const actor = { tenantId: owner.tenantId, accountId: owner.accountId, name: 'owner', scopes: new Set<string>(SCOPES) };
    const reader = await server.app.services.accounts.create(actor, { name: 'no-runs', scopes: ['auth:read'] });
    const unscoped = subscribeOverWs(server.url, reader.token, RUN_LOGS, { runId });
    expect(await unscoped.ended).toBe('error');
    expect(unscoped.values).toEqual([]);

    const { t, runId: mine } = await runWithJournal();
    const garbage = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId: mine, after: 'x; drop' });
    expect(await garbage.ended).toBe('error');
    expect(garbage.errors[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('a bad token is refused with 4403; revoking an account closes its open sockets with 4403', async () => {
    const { t, actor, runId, journal } = await runWithJournal();
    const bad = subscribeOverWs(server.url, 'rlt_not_a_token', RUN_LOGS, { runId });
    expect(await bad.ended).toEqual({ closed: 4403 });
    expect(bad.values).toEqual([]);

    const watcher = await server.app.services.accounts.create(actor, { name: 'watcher', scopes: ['runs:read'] });
    const sub = subscribeOverWs(server.url, watcher.token, RUN_LOGS, { runId });
    await journal.log(lines(1, 1));
    await sub.received(1);
    await server.app.services.accounts.revoke(t.tenantId, watcher.account.id);
    expect(await sub.ended).toEqual({ closed: 4403 });
    // The owner's own subscription is untouched.
    const still = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId });
    await still.received(1);
    await still.close();
  });

  it('a slow subscriber is closed with the cursor to resume from; writers and other subscribers carry on', async () => {
    const { t, runId, journal } = await runWithJournal();
    const slow = server.app.services.runStreams.logs(t.tenantId, runId, 0);
    const fast = subscribeOverWs(server.url, t.token, RUN_LOGS, { runId });
    await journal.log(lines(1, 1));
    expect((await slow.next()).value).toMatchObject({ seq: 1 });
    // The slow one reads nothing while 300 lines (buffer: 100) are written.
    await writeInBatches(journal, 2, 30, 10);
    await fast.received(301);
    let failure: unknown;
    const seen: number[] = [];
    try {
      for (;;) {
        const next = await slow.next();
        if (next.done) break;
        seen.push(next.value.seq);
      }
    } catch (err) {
      failure = err;
    }
    expect(failure).toBeInstanceOf(SlowSubscriberError);
    expect((failure as SlowSubscriberError).cursor).toBe(String(1 + seen.length));
    expect(cursors(fast.values)).toEqual(Array.from({ length: 301 }, (_, i) => i + 1));
    await fast.close();
  });

  it('arguments as literals or as variables of any name, and aliases, reach the stream and the lines (compiled per-event execution)', async () => {
    const { t, runId, journal } = await runWithJournal();
    await journal.log(lines(1, 3));
    const literal = subscribeOverWs(server.url, t.token, `subscription { tail: runLogs(runId: "${runId}", after: "1") { cursor line } }`, {});
    const renamed = subscribeOverWs(server.url, t.token, `subscription F($id: ID!, $from: String) { l: runLogs(runId: $id, after: $from) { cursor text: line } }`, { id: runId, from: null });
    await literal.received(2);
    await renamed.received(3);
    await journal.succeed({}, lines(4, 1));
    expect(await literal.ended).toBe('complete');
    expect(await renamed.ended).toBe('complete');
    expect(literal.values).toEqual([2, 3, 4].map((n) => ({ cursor: String(n), line: `line ${n}` })));
    expect(renamed.values).toEqual([1, 2, 3, 4].map((n) => ({ cursor: String(n), text: `line ${n}` })));
  });

  it('over a socket: a client that stops reading stops the subscription pulling lines, and is closed with its cursor', async () => {
    const { t, runId, journal } = await runWithJournal();
    const socket = new WebSocket(server.url.replace(/^http/, 'ws') + '/graphql', 'graphql-transport-ws');
    const frames: { type: string; payload?: any }[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.token}` } }));
    const until = async (test: () => boolean) => {
      for (const deadline = Date.now() + 10_000; !test(); await new Promise((r) => setTimeout(r, 10))) {
        if (Date.now() > deadline) throw new Error(`waited in vain; ${frames.length} frames, the last: ${frames.at(-1)?.type}`);
      }
    };
    await until(() => frames.some((f) => f.type === 'connection_ack'));
    socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: RUN_LOGS, variables: { runId } } }));
    await journal.log(lines(1, 1));
    await until(() => frames.some((f) => f.type === 'next'));
    // The client reads nothing while far more than the kernel's socket buffers hold is written
    // (9,000 lines of 2 KiB in bus messages that carry them; the server keeps 100 lines per subscriber).
    socket.pause();
    const padding = 'x'.repeat(2048);
    for (let b = 0; b < 300; b++) {
      await journal.log(Array.from({ length: 30 }, (_, i) => ({ stream: 'stdout' as const, step: 'test', line: `line ${2 + b * 30 + i} ${padding}` })));
    }
    socket.resume();
    await until(() => frames.some((f) => f.type === 'error' || f.type === 'complete'));
    const received = frames.filter((f) => f.type === 'next').map((f) => Number(f.payload.data.runLogs.cursor));
    const error = frames.find((f) => f.type === 'error')!;
    expect(error?.payload?.[0]).toMatchObject({ extensions: { code: 'SUBSCRIBER_TOO_SLOW' } });
    // Fewer lines than written reached the client, in order and without a gap, and the error names where to resume.
    expect(received.length).toBeLessThan(9001);
    expect(received).toEqual(Array.from({ length: received.length }, (_, i) => i + 1));
    expect(error.payload[0].message).toContain(`after: "${received.length}"`);
    socket.close();
  });
});

describe('runUpdates', () => {
  it('sends the run now and after each change, and completes with its final state', async () => {
    const { t, runId, journal } = await runWithJournal();
    const sub = subscribeOverWs(server.url, t.token, RUN_UPDATES, { runId });
    await sub.received(1);
    await journal.event('note', {});
    await sub.received(2);
    await journal.succeed({}, []);
    expect(await sub.ended).toBe('complete');
    expect(sub.values[0]).toMatchObject({ uuid: runId, status: 'RUNNING' });
    expect(sub.values.at(-1)).toMatchObject({ uuid: runId, status: 'SUCCEEDED', failureCategory: null });
  });
});
