import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { CommandArgs } from './index';
import { CliError } from './runtime';

const USAGE = 'Usage: runlane logs <run-or-job-id> --server URL --token TOKEN [--follow] [--after CURSOR] [--json]';

type Line = { cursor: string; ts: string; step: string; stream: string; line: string };
type Kind = 'run' | 'job';

const LINE = 'cursor ts step stream line';
/** The same log read two ways, for runs and for jobs; `source` and `line` are aliases, so one reader fits both. */
const DOCUMENTS: Record<Kind, { page: string; follow: string }> = {
  run: {
    page: `query RunLogsPage($id: ID!, $after: String) {
  source: run(id: $id) { logs(after: $after, first: 1000) { edges { node { ${LINE} } } pageInfo { hasNextPage endCursor } } }
}`,
    follow: `subscription FollowRunLogs($id: ID!, $after: String) { line: runLogs(runId: $id, after: $after) { ${LINE} } }`,
  },
  job: {
    page: `query JobLogsPage($id: ID!, $after: String) {
  source: job(id: $id) { logs(after: $after, first: 1000) { edges { node { ${LINE} } } pageInfo { hasNextPage endCursor } } }
}`,
    follow: `subscription FollowJobLogs($id: ID!, $after: String) { line: jobLogs(jobId: $id, after: $after) { ${LINE} } }`,
  },
};

/** Backoff between reconnections of --follow; a stream that delivered resets it. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000];
const GIVE_UP_AFTER = 20;

/**
 * `runlane logs`: a client of a running server (GraphQL over HTTP and WebSocket), not of the
 * database. Prints the log of a run or a job (the id says which: a run is looked for first);
 * with --follow, tails it until the run or job ends, and after a dropped connection resumes from
 * the last line printed, so nothing is missed or printed twice.
 */
export async function logsCommand(args: CommandArgs, out: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  const [sourceId] = args.positionals;
  const server = args.values.server;
  const token = args.values.token;
  if (!sourceId || typeof server !== 'string' || typeof token !== 'string') throw new CliError(USAGE, 2);
  const base = server.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new CliError('--server must be an http:// or https:// URL', 2);
  const print = (l: Line) => out(args.values.json ? `${JSON.stringify(l)}\n` : `${l.ts} ${l.stream.toLowerCase().padEnd(6)} ${l.step}  ${l.line}\n`);
  let after = typeof args.values.after === 'string' ? args.values.after : null;

  const page = async (kind: Kind): Promise<{ logs: any; errors?: { message: string }[] }> => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: DOCUMENTS[kind].page, variables: { id: sourceId, after } }),
    }).catch((err: Error) => {
      throw new CliError(`cannot reach ${base}: ${err.message}`);
    });
    const body = (await res.json().catch(() => ({}))) as { data?: any; errors?: { message: string }[] };
    return { logs: body.data?.source?.logs ?? null, errors: body.errors };
  };
  // A run, else a job: whichever this id (and this token's scopes) finds.
  let kind: Kind = 'run';
  let first = await page('run');
  if (!first.logs) {
    const asJob = await page('job');
    if (asJob.logs) (kind = 'job'), (first = asJob);
    else throw new CliError(first.errors?.[0]?.message ?? asJob.errors?.[0]?.message ?? `Run or job ${sourceId} not found.`);
  }

  if (!args.values.follow) {
    let logs = first.logs;
    for (;;) {
      for (const edge of logs.edges) print(edge.node);
      if (!logs.pageInfo.hasNextPage) return 0;
      after = logs.pageInfo.endCursor;
      const next = await page(kind);
      if (next.errors?.length) throw new CliError(next.errors[0]!.message);
      logs = next.logs;
    }
  }

  let failures = 0;
  for (;;) {
    const outcome = await followOnce(base, token, DOCUMENTS[kind].follow, sourceId, after, (line) => {
      print(line);
      after = line.cursor;
      failures = 0;
    });
    if (outcome.done) return 0;
    if (outcome.fatal) throw new CliError(outcome.fatal);
    if (++failures > GIVE_UP_AFTER) throw new CliError(`lost the connection to ${base} and could not resume (${outcome.reason})`);
    process.stderr.write(`runlane: connection lost (${outcome.reason}); resuming after ${after ?? 'the start'}…\n`);
    await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(failures - 1, RETRY_MS.length - 1)]));
  }
}

type FollowOutcome = { done: true; fatal?: undefined } | { done: false; fatal?: string; reason: string };

/** One subscription until it completes (the run or job ended), fails for good, or the connection drops. */
function followOnce(base: string, token: string, document: string, id: string, after: string | null, onLine: (l: Line) => void): Promise<FollowOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: FollowOutcome) => {
      if (settled) return;
      settled = true;
      void client.dispose();
      resolve(outcome);
    };
    const client = createClient({
      url: `${base.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${token}` },
      onNonLazyError: () => {},
      on: {
        closed: (event) => {
          const code = (event as { code?: number }).code;
          if (code === 4403) settle({ done: false, fatal: 'the token was refused (4403)', reason: 'forbidden' });
          else settle({ done: false, reason: `closed${code ? ` (${code})` : ''}` });
        },
      },
    });
    client.subscribe<{ line: Line }>(
      { query: document, variables: { id, after } },
      {
        next: (value) => {
          if (value.data?.line) onLine(value.data.line);
        },
        error: (err) => {
          const errors = Array.isArray(err) ? (err as { message: string; extensions?: { code?: string } }[]) : [];
          const first = errors[0];
          // Fell behind: the stream ended with the cursor to resume from, which we already hold.
          if (first?.extensions?.code === 'SUBSCRIBER_TOO_SLOW') settle({ done: false, reason: 'fell behind' });
          else if (first) settle({ done: false, fatal: first.message, reason: first.message });
          else settle({ done: false, reason: err instanceof Error ? err.message : 'connection error' });
        },
        complete: () => settle({ done: true }),
      },
    );
  });
}
