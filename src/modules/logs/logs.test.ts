import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gql, startTestServer, type TestServer } from '../../../test/support/app';
import { adminQuery } from '../../../test/support/database';
import { writeRunLines } from '../../../test/support/log-lines';
import { SCOPES } from '../accounts/scopes';

// Reading logs without a socket: Run.logs pages and the REST JSONL door, over lines written as the
// journal writes them. No worker runs; the runs stay queued.
type Tenant = Awaited<ReturnType<TestServer['tenant']>>;
let server: TestServer;
let owner: Tenant;
let other: Tenant;

const actorOf = (t: Tenant) => ({ tenantId: t.tenantId, name: 'owner', scopes: new Set<string>(SCOPES) });

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.tenant();
  other = await server.tenant();
  for (const t of [owner, other]) await server.app.services.agentConfigs.put(actorOf(t), 'custom', {});
});
afterAll(async () => {
  await server?.close();
});

async function runWithLines(t: Tenant, count: number): Promise<string> {
  const { run } = await server.app.services.runs.enqueue(actorOf(t), 'custom', { input: { prompt: 'x' } });
  if (count > 0) await writeRunLines(server.db, t.tenantId, run.id, { count });
  return run.id;
}

async function tokenWith(scopes: string[]) {
  return (await server.app.services.accounts.create(actorOf(owner), { name: `acct-${Math.random().toString(36).slice(2)}`, scopes })).token;
}

const LOGS = `query($id: ID!, $after: String, $first: Int) { run(id: $id) { logs(after: $after, first: $first) {
  edges { cursor node { cursor ts step stream line } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }`;

type Edge = { cursor: string; node: { cursor: string; ts: string; step: string; stream: string; line: string } };

describe('Run.logs', () => {
  it('pages through the whole log by cursor: no gap, no duplicate, lines added meanwhile included', async () => {
    const id = await runWithLines(owner, 250);
    const seen: Edge[] = [];
    let after: string | null = null;
    let pages = 0;
    const page = async (cursor: string | null) => (await gql(server.url, owner.token, LOGS, { id, after: cursor, first: 100 })).body;
    for (;;) {
      const body = await page(after);
      expect(body.errors).toBeUndefined();
      const { edges, pageInfo } = body.data.run.logs;
      seen.push(...edges);
      expect(pageInfo.hasPreviousPage).toBe(after !== null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      if (++pages === 1) await writeRunLines(server.db, owner.tenantId, id, { from: 251, count: 10 });
      if (!pageInfo.hasNextPage) break;
      after = pageInfo.endCursor;
    }
    expect(pages).toBe(3);
    expect(seen.map((e) => e.node.line)).toEqual(Array.from({ length: 260 }, (_, i) => `line ${i + 1}`));
    for (const e of seen) expect(e.cursor).toBe(e.node.cursor);
    expect(seen[6]!.node).toMatchObject({ cursor: '7', step: 'step-0', stream: 'LLM', line: 'line 7' });
    expect(Number.isNaN(Date.parse(seen[0]!.node.ts))).toBe(false);
  });

  it('gives 100 lines by default, up to 1000 on request, and knows when a full page is the last', async () => {
    const id = await runWithLines(owner, 1000);
    const byDefault = (await gql(server.url, owner.token, LOGS, { id })).body.data.run.logs;
    expect(byDefault.edges).toHaveLength(100);
    expect(byDefault.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false, startCursor: '1', endCursor: '100' });
    const all = (await gql(server.url, owner.token, LOGS, { id, first: 1000 })).body.data.run.logs;
    expect(all.edges).toHaveLength(1000);
    expect(all.pageInfo.hasNextPage).toBe(false);
    const past = (await gql(server.url, owner.token, LOGS, { id, after: '1000' })).body.data.run.logs;
    expect(past).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null } });
  });

  it('refuses a bad cursor or page size with BAD_USER_INPUT', async () => {
    const id = await runWithLines(owner, 3);
    for (const args of [{ after: 'abc' }, { after: '-1' }, { after: '1.5' }, { first: 0 }, { first: 1001 }]) {
      const { body } = await gql(server.url, owner.token, LOGS, { id, ...args });
      expect(body.errors?.[0]?.extensions?.code, JSON.stringify(args)).toBe('BAD_USER_INPUT');
    }
  });

  it('shows another tenant nothing of the run or its lines', async () => {
    const id = await runWithLines(owner, 5);
    const { body } = await gql(server.url, other.token, LOGS, { id });
    expect(body).toEqual({ data: { run: null } });
    // Even asked directly for the run's id, row-level security keeps the lines the owner's.
    expect(await server.app.services.logs.lines(other.tenantId, 'run', id, {})).toEqual({ lines: [], hasNextPage: false });
    expect((await server.app.services.logs.lines(owner.tenantId, 'run', id, {})).lines).toHaveLength(5);
  });

  it('needs runs:read', async () => {
    const id = await runWithLines(owner, 2);
    const reader = await tokenWith(['runs:read']);
    expect((await gql(server.url, reader, LOGS, { id })).body.data.run.logs.edges).toHaveLength(2);
    const denied = await gql(server.url, await tokenWith(['auth:read']), LOGS, { id });
    expect(denied.body.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', requiredScope: 'runs:read' });
  });
});

describe('GET /api/v1/agents/{blueprint}/runs/{id}/logs', () => {
  const path = (id: string, query = '', blueprint = 'custom') => `/api/v1/agents/${blueprint}/runs/${id}/logs${query}`;

  async function get(p: string, token: string | null = owner.token) {
    const res = await fetch(`${server.url}${p}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  }

  const linesOf = (text: string) => (text === '' ? [] : text.trimEnd().split('\n').map((l) => JSON.parse(l)));

  it('answers JSON Lines, every line after the cursor, with X-Next-Cursor', async () => {
    const id = await runWithLines(owner, 7);
    const res = await get(path(id));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('x-next-cursor')).toBe('7');
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(res.text.endsWith('\n')).toBe(true);
    const lines = linesOf(res.text);
    expect(lines.map((l) => l.cursor)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(Object.keys(lines[0]).sort()).toEqual(['cursor', 'line', 'step', 'stream', 'ts']);
    expect(lines[2]).toMatchObject({ step: 'step-0', stream: 'tool', line: 'line 3' });
    expect(new Date(lines[2].ts).toISOString()).toBe(lines[2].ts);

    const tail = await get(path(id, '?after=5'));
    expect(linesOf(tail.text).map((l) => l.line)).toEqual(['line 6', 'line 7']);
    expect(tail.headers.get('x-next-cursor')).toBe('7');
  });

  it('stops at limit, and echoes the cursor when nothing is after it', async () => {
    const id = await runWithLines(owner, 20);
    const some = await get(path(id, '?after=3&limit=5'));
    expect(linesOf(some.text).map((l) => l.cursor)).toEqual(['4', '5', '6', '7', '8']);
    expect(some.headers.get('x-next-cursor')).toBe('8');
    const none = await get(path(id, '?after=20&limit=5'));
    expect(none).toMatchObject({ status: 200, text: '' });
    expect(none.headers.get('x-next-cursor')).toBe('20');
    const empty = await get(path(await runWithLines(owner, 0)));
    expect(empty).toMatchObject({ status: 200, text: '' });
    expect(empty.headers.get('x-next-cursor')).toBe('0');
  });

  it('streams a log longer than a page in order, whole', async () => {
    const id = await runWithLines(owner, 2_345);
    const res = await get(path(id));
    const cursors = linesOf(res.text).map((l) => Number(l.cursor));
    expect(cursors).toEqual(Array.from({ length: 2_345 }, (_, i) => i + 1));
    expect(res.headers.get('x-next-cursor')).toBe('2345');
    const bounded = await get(path(id, '?after=999&limit=1002'));
    expect(linesOf(bounded.text).map((l) => Number(l.cursor))).toEqual(Array.from({ length: 1_002 }, (_, i) => i + 1_000));
    expect(bounded.headers.get('x-next-cursor')).toBe('2001');
  });

  it('counts the limit in lines still kept when retention has removed the oldest', async () => {
    const id = await runWithLines(owner, 30);
    await adminQuery(server.db, `delete from log_lines where source_id = $1 and seq <= 10`, [id]);
    const res = await get(path(id, '?limit=5'));
    expect(linesOf(res.text).map((l) => l.cursor)).toEqual(['11', '12', '13', '14', '15']);
    expect(res.headers.get('x-next-cursor')).toBe('15');
  });

  it('is 404 for an unknown run, another tenant’s run and another blueprint', async () => {
    const id = await runWithLines(owner, 3);
    for (const [p, token] of [
      [path('00000000-0000-4000-8000-000000000000'), owner.token],
      [path('not-a-uuid'), owner.token],
      [path(id), other.token],
      [path(id, '', 'contact_deduper'), owner.token],
    ] as const) {
      const res = await get(p, token);
      expect(res.status, p).toBe(404);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'NOT_FOUND', status: 404 });
    }
  });

  it('is 400 for a bad cursor or limit', async () => {
    const id = await runWithLines(owner, 3);
    for (const [query, field] of [
      ['?after=abc', 'after'],
      ['?after=-2', 'after'],
      ['?limit=0', 'limit'],
      ['?limit=ten', 'limit'],
      ['?limit=-1', 'limit'],
      ['?limit=', 'limit'],
    ]) {
      const res = await get(path(id, query));
      expect(res.status, query).toBe(400);
      expect(JSON.parse(res.text)).toMatchObject({ error: 'INVALID_REQUEST', status: 400, field });
    }
  });

  it('needs runs:read (403 naming it), and a token (401)', async () => {
    const id = await runWithLines(owner, 3);
    const denied = await get(path(id), await tokenWith(['auth:read']));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.text)).toMatchObject({ error: 'FORBIDDEN', requiredScope: 'runs:read' });
    expect((await get(path(id), null)).status).toBe(401);
    expect(linesOf((await get(path(id), await tokenWith(['runs:read']))).text)).toHaveLength(3);
  });

  it('stops reading when the client goes away, and keeps serving', async () => {
    const id = await runWithLines(owner, 5_000);
    // node:http rather than fetch: an aborted fetch leaves a spare connection open that would
    // hold the server's close until its header timeout.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${server.url}${path(id)}`, { headers: { authorization: `Bearer ${owner.token}` } }, (res) => {
        res.once('data', () => req.destroy());
      });
      req.on('close', resolve).on('error', reject).end();
    });
    const again = await get(path(id, '?after=4990'));
    expect(linesOf(again.text)).toHaveLength(10);
  });
});
