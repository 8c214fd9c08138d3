import type { IncomingMessage } from 'node:http';
import { CloseCode, handleProtocols, makeServer, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { turnWrites } from './turn-writes';

/** Unsent bytes past which a send waits for the socket, and so the subscription stops pulling. */
export const SEND_HIGH_WATER_BYTES = 64 * 1024;

export type GraphqlWsExtra = { request: IncomingMessage; socket: WebSocket };

/**
 * graphql-ws on a `ws` server: what `graphql-ws/use/ws` does, with two differences that matter
 * for log streams. A send returns at once while the socket keeps up, so every line of a bus
 * message is framed in the same turn and the frames leave in one write (turnWrites); past
 * SEND_HIGH_WATER_BYTES unsent it waits for the socket, the subscription stops reading its
 * inbox, and a subscriber that stays behind is closed by LiveLogs with its resume cursor.
 * Internal errors go to `onError`, not the console.
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
    let pongWait: NodeJS.Timeout | null = null;
    const pinger = setInterval(() => {
      if (socket.readyState !== socket.OPEN || pongWait) return;
      pongWait = setTimeout(() => socket.terminate(), keepAliveMs);
      socket.ping();
    }, keepAliveMs);
    socket.on('pong', () => {
      if (pongWait) clearTimeout(pongWait);
      pongWait = null;
    });

    const closed = server.opened(
      {
        protocol: socket.protocol,
        send(data) {
          if (socket.readyState !== socket.OPEN) return;
          holdWrites();
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
      clearInterval(pinger);
      if (pongWait) clearTimeout(pongWait);
      closed(code, String(reason)).catch(deps.onError);
    });
  });
}
