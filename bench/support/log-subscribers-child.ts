/**
 * Log subscribers of bench:logs, in a process of their own (the bench starts one or more), so
 * their CPU is measured apart from the servers'. One WebSocket per subscriber, as browsers would
 * have, each following one run's log:
 *   runlane  — a graphql-ws client (`createClient` over `ws`) per subscriber, connection_init
 *              `{authorization: "Bearer <token>"}`, subscription
 *              `runLogs(runId, after: null) { cursor step stream line }` (from the run's first line);
 *   baseline — a plain `ws` socket to the fan-out server's /runs/<runId>, one JSON frame per line;
 *              connected once the server says its Redis SUBSCRIBE is in place.
 *
 * Every subscriber checks that it gets every line of its run exactly once and in order: the
 * line numbers (cursor / seq) run 1, 2, 3, … with no gap and no repeat, and every line is one
 * the writer wrote for that run. (A baseline socket has no backlog, but nothing is written before
 * every socket is attached.)
 * Each line's text is the writer's JSON `{t, r, k, w?}`; the delivery latency of a measured line
 * (no `w`) is the receive time (performance.timeOrigin + performance.now(), when its frame is
 * handled here) − t, recorded in a LatencyHistogram.
 *
 * IPC out: { type: 'ready' } once it listens for commands.
 * IPC in:  { type: 'start', mode, token, targets: [{ url, runId, run }] } connects every
 *          subscriber (SUBSCRIBE_WAVE at a time) and answers { type: 'connected', connected, failed };
 *          { type: 'status', id } answers { type: 'status', id, attached, ... } (attached: subscribers
 *          that received at least one line);
 *          { type: 'expect', linesPerRun, timeoutMs } waits until every subscriber has its run's
 *          last line (or the timeout) and answers { type: 'report', ... } (SubscribersReport);
 *          { type: 'stop' } closes everything and exits 0.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { LatencyHistogram, type HistogramData } from './latency-histogram';

export type Target = { url: string; runId: string; run: number };
export type SubscribersCommand =
  | { type: 'start'; mode: 'runlane' | 'baseline'; token: string; targets: Target[] }
  | { type: 'status'; id: number }
  | { type: 'expect'; linesPerRun: Record<string, number>; timeoutMs: number; batchWrites: [number, number, number, number][] }
  | { type: 'stop' };
export type SubscribersStatus = {
  type: 'status';
  id: number;
  attached: number;
  connected: number;
  failed: number;
  delivered: number;
  /** A few subscribers that have not received a line yet, for the bench's error message. */
  waiting: string[];
};
export type SubscribersReport = {
  type: 'report';
  subscribers: number;
  /** Lines received in all (warm-up included), repeats excluded. */
  delivered: number;
  /** Measured lines received (their latencies are in `latency`). */
  measured: number;
  latency: HistogramData;
  /** The same lines' latency less their batch's write call: from the write's return (commit, PUBLISH) to receipt. */
  afterWrite: HistogramData;
  gaps: number;
  duplicates: number;
  /** Lines of another run, or whose text is not the writer's. */
  misrouted: number;
  /** Subscribers that lacked lines of their run when the wait ended, and how many lines in all. */
  incomplete: number;
  missing: number;
  /** Subscriptions that ended (error, completion, closed socket) before their last line. */
  endedEarly: number;
  errors: string[];
  waitedMs: number;
};
export type SubscribersMessage =
  | { type: 'ready' }
  | { type: 'connected'; connected: number; failed: number }
  | SubscribersStatus
  | SubscribersReport
  | { type: 'error'; message: string };

const RUN_LOGS = 'subscription ($runId: ID!) { runLogs(runId: $runId) { cursor step stream line } }';
/** Sockets opened at once while connecting (a thousand handshakes at once would only queue). */
const SUBSCRIBE_WAVE = 50;
const CONNECT_TIMEOUT_MS = 30_000;

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Sub = {
  target: Target;
  /** Last line number received (0: none yet). */
  last: number;
  got: number;
  connected: boolean;
  ended: boolean;
  close(): void;
};

const subs: Sub[] = [];
const latency = new LatencyHistogram();
/** Every measured line received, as (run, line number, latency), to take the write call out at the end. */
const receipts: number[] = [];
let measured = 0;
let gaps = 0;
let duplicates = 0;
let misrouted = 0;
let failed = 0;
let expected: Record<string, number> | undefined;
let endedEarly = 0;
const errors = new Set<string>();

function send(message: SubscribersMessage): void {
  process.send?.(message);
}

function noteError(text: string): void {
  if (errors.size < 5) errors.add(text.slice(0, 300));
}

/** One line as it arrived; `received` is taken before any parsing of the line's own text. */
function onLine(sub: Sub, seq: number, text: string, received: number): void {
  if (seq <= sub.last) {
    duplicates++;
    return;
  }
  if (seq > sub.last + 1) gaps += seq - sub.last - 1;
  sub.last = seq;
  sub.got++;
  let body: { t?: number; r?: number; w?: number };
  try {
    body = JSON.parse(text);
  } catch {
    misrouted++;
    return;
  }
  if (body.r !== sub.target.run || typeof body.t !== 'number') {
    misrouted++;
    return;
  }
  if (!body.w) {
    latency.record(received - body.t);
    receipts.push(body.r!, (body as { k: number }).k, received - body.t);
    measured++;
  }
}

function onEnd(sub: Sub, why: string): void {
  if (sub.ended) return;
  sub.ended = true;
  const want = expected?.[sub.target.runId];
  if (want === undefined || sub.last < want) {
    endedEarly++;
    noteError(why);
  }
}

function graphqlSubscriber(target: Target, token: string): Promise<Sub> {
  return new Promise((resolve) => {
    let client: Client;
    const sub: Sub = { target, last: 0, got: 0, connected: false, ended: false, close: () => void client.dispose() };
    client = createClient({
      url: target.url,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      // A server too busy to acknowledge the connection within this fails the subscriber (4504).
      connectionAckWaitTimeout: CONNECT_TIMEOUT_MS,
      connectionParams: { authorization: `Bearer ${token}` },
      on: {
        connected: () => {
          sub.connected = true;
          resolve(sub);
        },
        closed: (event) => {
          const code = (event as { code?: number }).code;
          onEnd(sub, `socket closed (${code} ${(event as { reason?: string }).reason ?? ''})`);
          resolve(sub);
        },
      },
    });
    client.subscribe<{ runLogs: { cursor: string; line: string } }>(
      { query: RUN_LOGS, variables: { runId: target.runId } },
      {
        next: (value) => {
          const received = now();
          if (value.errors?.length) noteError(`GraphQL error: ${value.errors.map((e) => e.message).join('; ')}`);
          const line = value.data?.runLogs;
          if (line) onLine(sub, Number(line.cursor), line.line, received);
        },
        error: (err) => {
          onEnd(sub, `subscription error: ${Array.isArray(err) ? err.map((e) => e.message).join('; ') : err instanceof Error ? err.message : JSON.stringify(err)}`);
          resolve(sub);
        },
        complete: () => onEnd(sub, 'subscription completed'),
      },
    );
  });
}

function plainSubscriber(target: Target): Promise<Sub> {
  return new Promise((resolve) => {
    const socket = new WebSocket(target.url, { handshakeTimeout: CONNECT_TIMEOUT_MS });
    const sub: Sub = { target, last: 0, got: 0, connected: false, ended: false, close: () => socket.terminate() };
    // No attachment within the time: the subscriber fails (its socket closes).
    const timer = setTimeout(() => {
      if (!sub.connected) socket.terminate();
    }, CONNECT_TIMEOUT_MS);
    socket.on('message', (data: Buffer) => {
      const received = now();
      const frame = JSON.parse(data.toString()) as { seq: number; line: string; attached?: true };
      if (frame.attached) {
        // The server's SUBSCRIBE is in place: nothing published from now on is missed.
        clearTimeout(timer);
        sub.connected = true;
        resolve(sub);
        return;
      }
      onLine(sub, frame.seq, frame.line, received);
    });
    socket.on('error', (err) => noteError(`socket error: ${err.message}`));
    socket.on('close', (code) => {
      clearTimeout(timer);
      onEnd(sub, `socket closed (${code})`);
      resolve(sub);
    });
  });
}

async function start(message: Extract<SubscribersCommand, { type: 'start' }>): Promise<void> {
  for (let i = 0; i < message.targets.length; i += SUBSCRIBE_WAVE) {
    const wave = message.targets.slice(i, i + SUBSCRIBE_WAVE);
    const opened = await Promise.all(wave.map((t) => (message.mode === 'runlane' ? graphqlSubscriber(t, message.token) : plainSubscriber(t))));
    subs.push(...opened);
  }
  failed = subs.filter((s) => !s.connected || s.ended).length;
  send({ type: 'connected', connected: subs.length - failed, failed });
}

function lacking(): { incomplete: number; missing: number } {
  let incomplete = 0;
  let missing = 0;
  for (const sub of subs) {
    const want = expected![sub.target.runId] ?? 0;
    const have = sub.last;
    if (have < want) {
      incomplete++;
      missing += want - have;
    }
  }
  return { incomplete, missing };
}

/** Latencies from the end of each line's write call: the delivery path alone, whatever the write cost. */
function afterWrite(batchWrites: [number, number, number, number][]): LatencyHistogram {
  const writes = new Map<number, [number, number, number][]>();
  for (const [run, firstK, count, ms] of batchWrites) {
    const list = writes.get(run) ?? [];
    list.push([firstK, count, ms]);
    writes.set(run, list);
  }
  const histogram = new LatencyHistogram();
  for (let i = 0; i < receipts.length; i += 3) {
    const k = receipts[i + 1]!;
    const batch = writes.get(receipts[i]!)?.find(([firstK, count]) => k >= firstK && k < firstK + count);
    if (batch) histogram.record(receipts[i + 2]! - batch[2]);
  }
  return histogram;
}

async function expect(message: Extract<SubscribersCommand, { type: 'expect' }>): Promise<void> {
  expected = message.linesPerRun;
  const started = Date.now();
  while (lacking().incomplete > 0 && subs.some((s) => !s.ended) && Date.now() - started < message.timeoutMs) await sleep(20);
  const { incomplete, missing } = lacking();
  send({
    afterWrite: afterWrite(message.batchWrites).toJSON(),
    type: 'report',
    subscribers: subs.length,
    delivered: subs.reduce((sum, s) => sum + s.got, 0),
    measured,
    latency: latency.toJSON(),
    gaps,
    duplicates,
    misrouted,
    incomplete,
    missing,
    endedEarly,
    errors: [...errors],
    waitedMs: Date.now() - started,
  });
}

let stopping = false;
function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const sub of subs) {
    sub.ended = true;
    try {
      sub.close();
    } catch {
      // already closed
    }
  }
  // Let the close frames go out.
  setTimeout(() => process.exit(code), 200).unref();
}

process.on('message', (message: SubscribersCommand) => {
  const fail = (err: unknown) => send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  if (message?.type === 'start') start(message).catch(fail);
  if (message?.type === 'expect') expect(message).catch(fail);
  if (message?.type === 'stop') stop(0);
  if (message?.type === 'status') {
    send({
      type: 'status',
      id: message.id,
      attached: subs.filter((s) => s.got > 0).length,
      connected: subs.filter((s) => s.connected && !s.ended).length,
      failed: subs.filter((s) => s.ended).length,
      delivered: subs.reduce((sum, s) => sum + s.got, 0),
      waiting: subs
        .filter((s) => s.got === 0)
        .slice(0, 5)
        .map((s) => `${s.target.url} run ${s.target.runId}${s.connected ? '' : ' (not connected)'}${s.ended ? ' (ended)' : ''}`),
    });
  }
});
process.on('disconnect', () => stop(0));
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
if (!process.send) throw new Error('log-subscribers-child must be started with child_process.fork (IPC channel).');
send({ type: 'ready' });
