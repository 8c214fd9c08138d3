import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyring } from '../../src/platform/crypto';
import { startTestServer, type TestServer } from '../support/app';
import { numberedLines, RUN_LOGS, startLoggedRun, subscribeOverWs } from '../support/live';
import { startApiProcess, stopProcess, type ApiProcess } from '../support/runlane-process';

// Two real `runlane api` processes and Redis. A writer in a third process (a worker's journal)
// writes a run's log; a subscriber on the first API receives it live and in order, drops, and
// resumes on the second API from its last cursor: no gap, no duplicate, including the lines
// written while it was away.
const masterKey = randomBytes(32);
let writer: TestServer;
const apis: ApiProcess[] = [];

beforeAll(async () => {
  writer = await startTestServer({ redis: true, keyring: keyring(masterKey) });
  for (const _ of [1, 2]) apis.push(await startApiProcess({ databaseUrl: writer.db.appUrl, masterKey }));
}, 90_000);

afterAll(async () => {
  await Promise.all(apis.map((a) => stopProcess(a.child, 'SIGKILL')));
  await writer?.close();
});

describe('live logs across API processes', () => {
  it('streams through one API, resumes through the other exactly where it dropped', async () => {
    const { t, runId, journal } = await startLoggedRun(writer);
    const write = (from: number, count: number) => journal.log(numberedLines(from, count, 'e2e'));

    const first = subscribeOverWs(apis[0]!.url, t.token, RUN_LOGS, { runId });
    // Attached before the first write: these lines can only arrive over Redis.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 10; i++) await write(1 + i * 5, 5);
    await first.received(50);
    await first.close();
    const cursor = first.values.at(-1).cursor;

    await write(51, 25);
    const second = subscribeOverWs(apis[1]!.url, t.token, RUN_LOGS, { runId, after: cursor });
    await second.received(25);
    for (let i = 0; i < 5; i++) await write(76 + i * 5, 5);
    await journal.succeed({}, []);
    expect(await second.ended).toBe('complete');

    const all = [...first.values, ...second.values];
    expect(all.map((v) => v.line)).toEqual(Array.from({ length: 100 }, (_, i) => `line ${i + 1}`));
    expect(all.map((v) => Number(v.cursor))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  }, 60_000);
});
