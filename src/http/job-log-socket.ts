import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { DomainError } from '../db/errors';
import { isUuid } from '../db/ids';
import { tokenFromHeaders, type Principal } from '../platform/auth';
import type { Services } from '../platform/services';
import { jobLogLineJson } from '../modules/workflows/jobs.rest';
import type { LogLine } from '../modules/logs/log-lines';
import { clientIp, type Authenticate } from './rest';

/** `GET /api/jobs/{id}/logs/stream` (seed 001's WebSocket log stream). */
export const JOB_LOG_STREAM = /^\/api\/jobs\/([^/]+)\/logs\/stream\/?$/;

/** Bytes a client may leave unread before it is closed (it can reconnect with ?after=). */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Lines that arrive together go out as one frame. */
const FRAME_WINDOW_MS = 20;

function refuse(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message, status });
  socket.end(
    `HTTP/1.1 ${status} ${code}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

const jsonl = (lines: LogLine[]) => lines.map((l) => `${JSON.stringify(jobLogLineJson(l))}\n`).join('');

/**
 * Seed 001's live job log over a plain WebSocket: one text frame with the whole log so far
 * (unless `?skip_backfill=true`, or after `?after=<cursor>`), then a JSONL frame per batch of new
 * lines. The token comes as `Authorization: Bearer` or `?token=` (browsers cannot set headers)
 * and needs workflows:read; another tenant's job is a 404 before the upgrade. Unlike Strøm's, the
 * socket closes (1000) once the job has ended and every line is sent, as our subscriptions do.
 */
export function createJobLogSocket(deps: { services: Services; authenticate: Authenticate; onError: (err: unknown) => void }) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  async function principalOf(req: IncomingMessage, query: URLSearchParams): Promise<Principal | null> {
    const fromHeader = tokenFromHeaders({ authorization: req.headers.authorization, xRunlaneToken: req.headers['x-runlane-token'] as string | undefined });
    const token = fromHeader?.token ?? query.get('token');
    if (!token) return null;
    try {
      return await deps.authenticate(token, { ip: clientIp(req), method: fromHeader?.method ?? 'websocket' });
    } catch (err) {
      if (!(err instanceof DomainError)) deps.onError(err);
      return null;
    }
  }

  async function stream(ws: WebSocket, tenantId: string, jobId: string, afterSeq: number): Promise<void> {
    const lines = deps.services.jobStreams.logs(tenantId, jobId, afterSeq);
    ws.once('close', () => void lines.return(undefined));
    let pending: LogLine[] = [];
    let timer: NodeJS.Timeout | null = null;
    const flush = () => {
      timer = null;
      if (pending.length === 0 || ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_UNSENT_BYTES) {
        ws.close(1008, `Too slow; reconnect with ?after=${pending[0]!.seq - 1}`);
        return;
      }
      ws.send(jsonl(pending));
      pending = [];
    };
    // The backlog (everything stored when the stream starts) is the single backfill frame.
    let backfill = true;
    const { lastCursor } = await deps.services.logs.snapshot(tenantId, 'job', jobId, { after: String(afterSeq) });
    const backfillEnd = Number(lastCursor);
    if (backfillEnd <= afterSeq) backfill = false;
    for await (const line of lines) {
      if (ws.readyState !== ws.OPEN) break;
      pending.push(line);
      if (backfill && line.seq >= backfillEnd) {
        backfill = false;
        flush();
      } else if (!backfill) {
        timer ??= setTimeout(flush, FRAME_WINDOW_MS);
      }
    }
    if (timer) clearTimeout(timer);
    flush();
    if (ws.readyState === ws.OPEN) ws.close(1000, 'Job ended');
  }

  return {
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, jobId: string, query: URLSearchParams): void {
      void (async () => {
        const principal = await principalOf(req, query);
        if (!principal) return refuse(socket, 401, 'UNAUTHORIZED', 'Missing or invalid token.');
        if (!principal.scopes.has('workflows:read')) return refuse(socket, 403, 'FORBIDDEN', 'Missing required scope: workflows:read');
        const job = isUuid(jobId) ? await deps.services.jobs.find(principal.tenantId, jobId) : null;
        if (!job) return refuse(socket, 404, 'NOT_FOUND', 'Job not found');
        const after = query.get('after');
        if (after !== null && !/^\d{1,15}$/.test(after)) return refuse(socket, 400, 'INVALID_REQUEST', 'after must be a log cursor (a line number)');
        // Where the stream starts is fixed before the upgrade: a client that sees the socket open
        // with skip_backfill gets every line written from then on.
        const afterSeq =
          after !== null
            ? Number(after)
            : query.get('skip_backfill') === 'true'
              ? Number((await deps.services.logs.snapshot(principal.tenantId, 'job', job.id, {})).lastCursor)
              : 0;
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on('message', () => undefined);
          stream(ws, principal.tenantId, job.id, afterSeq).catch((err) => {
            if (!(err instanceof DomainError)) deps.onError(err);
            if (ws.readyState === ws.OPEN) ws.close(1011, err instanceof DomainError ? err.message.slice(0, 120) : 'Internal error');
          });
        });
      })().catch((err) => {
        deps.onError(err);
        socket.destroy();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.close(1001, 'Server shutting down');
        wss.close(() => resolve());
      }),
  };
}
