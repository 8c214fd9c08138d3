import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import type { CommandArgs } from './index';
import { CliError } from './runtime';

const USAGE = 'Usage: runlane logs <run-id> --server URL --token TOKEN [--follow] [--after CURSOR] [--json]';

type Line = { cursor: string; ts: string; step: string; stream: string; line: string };

const PAGE = `query RunLogsPage($runId: ID!, $after: String) {
  run(id: $runId) { logs(after: $after, first: 1000) { edges { node { cursor ts step stream line } } pageInfo { hasNextPage endCursor } } }
}`;
const FOLLOW = `subscription FollowRunLogs($runId: ID!, $after: String) { runLogs(runId: $runId, after: $after) { cursor ts step stream line } }`;

/** Backoff between reconnections of --follow; a stream that delivered resets it. */
const RETRY_MS = [250, 500, 1_000, 2_000, 5_000];
const GIVE_UP_AFTER = 20;

/**
 * `runlane logs`: a client of a running server (GraphQL over HTTP and WebSocket), not of the
 * database. Prints the log; with --follow, tails it until the run ends, and after a dropped
 * connection resumes from the last line printed, so nothing is missed or printed twice.
 */
export async function logsCommand(args: CommandArgs, out: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  const [runId] = args.positionals;
  const server = args.values.server;
  const token = args.values.token;
  if (!runId || typeof server !== 'string' || typeof token !== 'string') throw new CliError(USAGE, 2);
  const base = server.replace(/\/+$/, '');
  if (!/^https?:\/\//.test(base)) throw new CliError('--server must be an http:// or https:// URL', 2);
  const print = (l: Line) => out(args.values.json ? `${JSON.stringify(l)}\n` : `${l.ts} ${l.stream.toLowerCase().padEnd(6)} ${l.step}  ${l.line}\n`);
  let after = typeof args.values.after === 'string' ? args.values.after : null;

  if (!args.values.follow) {
    for (;;) {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: PAGE, variables: { runId, after } }),
      }).catch((err: Error) => {
        throw new CliError(`cannot reach ${base}: ${err.message}`);
      });
      const body = (await res.json().catch(() => ({}))) as { data?: any; errors?: { message: string }[] };
      if (body.errors?.length) throw new CliError(body.errors[0]!.message);
      const logs = body.data?.run?.logs;
      if (!logs) throw new CliError(`Run ${runId} not found.`);
      for (const edge of logs.edges) print(edge.node);
      if (!logs.pageInfo.hasNextPage) return 0;
      after = logs.pageInfo.endCursor;
    }
  }

  let failures = 0;
  for (;;) {
    const outcome = await followOnce(base, token, runId, after, (line) => {
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

/** One subscription until it completes (the run ended), fails for good, or the connection drops. */
function followOnce(base: string, token: string, runId: string, after: string | null, onLine: (l: Line) => void): Promise<FollowOutcome> {
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
    client.subscribe<{ runLogs: Line }>(
      { query: FOLLOW, variables: { runId, after } },
      {
        next: (value) => {
          if (value.data?.runLogs) onLine(value.data.runLogs);
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
