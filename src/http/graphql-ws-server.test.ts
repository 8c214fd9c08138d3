import { once } from 'node:events';
import { buildSchema } from 'graphql';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { serveGraphqlWs } from './graphql-ws-server';

const schema = buildSchema(`type Query { hello: String } type Subscription { tick: Int }`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
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
  serveGraphqlWs(
    server,
    {
      schema,
      roots: {
        query: { hello: () => 'world' },
        // One event, one and a half intervals after the subscription starts.
        subscription: {
          tick: async function* () {
            await sleep(keepAliveMs * 1.5);
            yield { tick: 1 };
          },
        },
      },
    },
    { onError: (err) => errors.push(err), keepAliveMs },
  );
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

  it('sends a due ping with the next frame, in the same write', async () => {
    const { socket, messages } = await connect(await start(300), { autoPong: true });
    // The frames that had arrived when the ping did, and once that read was handled.
    const atPing: [number, number][] = [];
    socket.on('ping', () => {
      const before = messages.length;
      setImmediate(() => atPing.push([before, messages.length]));
    });
    socket.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: 'subscription { tick }' } }));
    for (const until = Date.now() + 3000; !messages.some((m) => m.type === 'complete'); await sleep(10)) {
      if (Date.now() > until) throw new Error('no complete');
    }
    await sleep(20);
    // The ping fell due at 300 ms with nothing to send; it left with the event at 450 ms, not alone.
    const next = messages.findIndex((m) => m.type === 'next');
    const [before, after] = atPing[0]!;
    expect(before).toBe(next);
    expect(after).toBeGreaterThan(next);
    socket.close();
  });

  it('refuses a socket without the graphql-transport-ws subprotocol', async () => {
    const socket = new WebSocket(await start(10_000));
    const [code] = (await once(socket, 'close')) as [number];
    expect(code).toBe(4406);
  });
});
