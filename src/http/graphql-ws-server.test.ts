import { once } from 'node:events';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphqlWs } from './graphql-ws-server';

const schema = buildSchema(`type Query { hello: String }`);
let server: WebSocketServer | null = null;
const errors: unknown[] = [];

afterEach(async () => {
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = null;
  errors.length = 0;
});

async function start(keepAliveMs: number): Promise<string> {
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  serveGraphqlWs(server, { schema, roots: { query: { hello: () => 'world' } } }, { onError: (err) => errors.push(err), keepAliveMs });
  await once(server, 'listening');
  return `ws://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A graphql-transport-ws client speaking the protocol by hand, acknowledged. */
async function connect(url: string, options: { autoPong: boolean }) {
  const socket = new WebSocket(url, 'graphql-transport-ws', { autoPong: options.autoPong });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  await once(socket, 'open');
  socket.send(JSON.stringify({ type: 'connection_init' }));
  for (const until = Date.now() + 2000; !messages.some((m) => m.type === 'connection_ack'); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > until) throw new Error('no connection_ack');
  }
  return { socket, messages };
}

describe('serveGraphqlWs', () => {
  it('serves graphql-transport-ws: a query over the socket gets its result and completes', async () => {
    const { socket, messages } = await connect(await start(10_000), { autoPong: true });
    socket.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ hello }' } }));
    for (const until = Date.now() + 2000; !messages.some((m) => m.type === 'complete'); await new Promise((r) => setTimeout(r, 10))) {
      if (Date.now() > until) throw new Error('no complete');
    }
    expect(messages.filter((m) => m.id === 'q')).toEqual([
      { id: 'q', type: 'next', payload: { data: { hello: 'world' } } },
      { id: 'q', type: 'complete' },
    ]);
    socket.close();
  });

  it('drops a peer that stops answering pings, and keeps one that answers', async () => {
    const url = await start(100);
    const silent = await connect(url, { autoPong: false });
    const alive = await connect(url, { autoPong: true });
    const [code] = (await once(silent.socket, 'close')) as [number];
    // Terminated, not closed politely: the peer is gone.
    expect(code).toBe(1006);
    expect(alive.socket.readyState).toBe(WebSocket.OPEN);
    alive.socket.close();
    expect(errors).toEqual([]);
  });

  it('refuses a socket without the graphql-transport-ws subprotocol', async () => {
    const socket = new WebSocket(await start(10_000));
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(4406);
  });
});
