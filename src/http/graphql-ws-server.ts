import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { turnWrites } from './turn-writes';

/** Unsent bytes past which a send waits for the socket, and so the subscription stops pulling. */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;

export type GraphqlWsExtra = { request: IncomingMessage; socket: WebSocket };

/**
 * graphql-ws on a `ws` server: what `graphql-ws/use/ws` does, with differences that matter
 * for log streams. A send returns at once while the socket keeps up, so every line of a bus
 * message is framed in the same turn and the frames leave in one write (turnWrites); past
 * SEND_HIGH_WATER_BYTES unsent it waits for the socket, the subscription stops reading its
 * inbox, and a subscriber that stays behind is closed by LiveLogs with its resume cursor.
 * Keep-alive pings ride on the next frame (keepAlive below). Internal errors go to `onError`, not
 * the console.
 */
export function serveGraphqlWs<P extends Record<string, unknown>, E extends GraphqlWsExtra>(
  wss: WebSocketServer,
  options: ServerOptions<P, E>,
  deps: { onError: (err: unknown) => void; keepAliveMs?: number },
): void {
  const server = makeServer<P, E>(options);
  const keepAliveMs = deps.keepAliveMs ?? 12_000;
  wss.options.handleProtocols = handleProtocols;

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const holdWrites = turnWrites(request.socket);
    const fail = (err: unknown) => {
      deps.onError(err);
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    };
    socket.once('error', fail);

    // A peer that stops answering pings is dropped, so its subscriptions end.
    const heartbeat = keepAlive(socket, keepAliveMs);

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send(data) {
          if (socket.readyState !== socket.OPEN) return;
          holdWrites();
          heartbeat.beforeSend();
          if (socket.bufferedAmount < SEND_HIGH_WATER_BYTES) {
            socket.send(data);
            return;
          }
          return new Promise<void>((resolve, reject) => socket.send(data, (err) => (err ? reject(err) : resolve())));
        },
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) => socket.on('message', (data) => void handle(String(data)).catch(fail)),
      },
      { socket, request } as E,
    );

    socket.once('close', (code, reason) => {
      heartbeat.stop();
      closed(code, String(reason)).catch(deps.onError);
    });
  });
}

/**
 * Pings the peer once an interval has passed and drops it when the ping is not answered within
 * another. A due ping waits for the next frame the socket sends and leaves in the same write (a
 * streaming socket's pings cost no system call and no extra wake-up of the peer); a socket that
 * sent nothing for a whole interval after its ping fell due is pinged on its own.
 */
function keepAlive(socket: WebSocket, intervalMs: number): { beforeSend(): void; stop(): void } {
  let due = false;
  let pongWait: NodeJS.Timeout | null = null;
  const ping = () => {
    due = false;
    pongWait = setTimeout(() => socket.terminate(), intervalMs);
    socket.ping();
  };
  const ticker = setInterval(() => {
    if (socket.readyState !== socket.OPEN || pongWait) return;
    if (due) ping();
    else due = true;
  }, intervalMs);
  socket.on('pong', () => {
    if (pongWait) clearTimeout(pongWait);
    pongWait = null;
  });
  return {
    beforeSend: () => {
      if (due) ping();
    },
    stop: () => {
      clearInterval(ticker);
      if (pongWait) clearTimeout(pongWait);
    },
  };
}
