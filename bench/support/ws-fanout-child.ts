/**
 * The baseline server of bench:logs: Redis pub/sub to plain WebSockets, no GraphQL, no
 * PostgreSQL, no authentication: the least a process can do to fan log lines out.
 *
 * A client connects to ws://127.0.0.1:<port>/runs/<runId>. The first socket of a run makes the
 * process SUBSCRIBE to `runlane:runs.<runId>` (ioredis, one subscriber connection per process,
 * as Runlane's bus has); every message there is the bus envelope `{o, m: {…, lines}}`, and each
 * of its lines is sent as one JSON text frame `{seq, ts, step, stream, line}` to every socket of
 * the run (serialised once per line, shared by the sockets). A socket that closes is forgotten.
 * Once the SUBSCRIBE is in place, a new socket gets one frame `{"attached":true}`: from then on it
 * misses nothing published (there is no backlog here).
 *
 * Env in:  REDIS_URL (default redis://127.0.0.1:6379).
 * IPC out: { type: 'ready', port } once listening, or { type: 'error', message }.
 * IPC in:  { type: 'stop' } closes every socket and exits 0.
 */
import { Redis } from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RunChanged } from '../../src/modules/runs/run-channels';
import { turnWrites } from '../../src/http/turn-writes';

export type FanoutMessage = { type: 'ready'; port: number } | { type: 'error'; message: string };

const PREFIX = 'runlane:runs.';
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';

let wss: WebSocketServer | undefined;
let redis: Redis | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    for (const socket of wss?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => (wss ? wss.close(() => resolve()) : resolve()));
    redis?.disconnect();
  }
  process.exit(code);
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('ws-fanout-child must be started with child_process.fork (IPC channel).');
  const subscriber = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  redis = subscriber;
  subscriber.on('error', (err) => process.stderr.write(`[ws-fanout] redis: ${err.message}\n`));
  const socketsOf = new Map<string, Set<WebSocket>>();
  const attached = new Map<string, Promise<unknown>>();
  // The same write coalescing as Runlane's GraphQL sockets: a message's frames leave in one write.
  const holdWrites = new WeakMap<WebSocket, () => void>();

  subscriber.on('message', (channel: string, payload: string) => {
    const sockets = socketsOf.get(channel.slice(PREFIX.length));
    if (!sockets?.size) return;
    let envelope: { m?: RunChanged };
    try {
      envelope = JSON.parse(payload);
    } catch {
      return;
    }
    for (const line of envelope.m?.lines ?? []) {
      const frame = Buffer.from(JSON.stringify(line));
      for (const socket of sockets) {
        holdWrites.get(socket)?.();
        socket.send(frame, { binary: false });
      }
    }
  });

  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss = server;
  server.on('connection', (socket, req) => {
    const runId = /^\/runs\/([0-9a-f-]{36})$/.exec(new URL(req.url ?? '/', 'http://localhost').pathname)?.[1];
    if (!runId) {
      socket.close(4404, 'Unknown path');
      return;
    }
    let sockets = socketsOf.get(runId);
    if (!sockets) {
      sockets = new Set();
      socketsOf.set(runId, sockets);
      attached.set(runId, subscriber.subscribe(PREFIX + runId));
    }
    sockets.add(socket);
    holdWrites.set(socket, turnWrites(req.socket));
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // Tells the client it is attached: every line published from now on reaches it.
    attached.get(runId)!.then(
      () => socket.send('{"attached":true}'),
      (err: Error) => socket.close(1011, `SUBSCRIBE failed: ${err.message}`.slice(0, 120)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  process.send({ type: 'ready', port: (server.address() as { port: number }).port } satisfies FanoutMessage);
}

process.on('message', (message: { type: string }) => {
  if (message?.type === 'stop') void stop(0);
});
process.on('disconnect', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

main().catch((err: unknown) => {
  process.send?.({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) } satisfies FanoutMessage);
  void stop(1);
});
