import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { turnWrites } from './turn-writes';

const open: net.Socket[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A real loopback TCP connection: the writing end, and everything the other end receives. */
async function connection(): Promise<{ socket: net.Socket; received: () => string }> {
  let data = '';
  const server = net.createServer((peer) => {
    open.push(peer);
    peer.on('data', (chunk) => (data += chunk));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  open.push(socket);
  await once(socket, 'connect');
  return { socket, received: () => data };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('turnWrites', () => {
  it('holds the writes of one turn, microtasks included, and hands them to the kernel together at its end', async () => {
    const { socket, received } = await connection();
    const hold = turnWrites(socket);
    hold();
    socket.write('a');
    await Promise.resolve();
    hold();
    socket.write('b');
    // Still in this turn: nothing has left; both writes wait in the socket.
    expect(socket.writableLength).toBe(2);
    await turn();
    expect(socket.writableLength).toBe(0);
    for (const until = Date.now() + 2000; received() !== 'ab' && Date.now() < until; ) await turn();
    expect(received()).toBe('ab');
  });

  it('releases every socket held in one turn with one tick', async () => {
    const [a, b] = [await connection(), await connection()];
    const ticks = vi.spyOn(process, 'nextTick');
    try {
      turnWrites(a.socket)();
      turnWrites(b.socket)();
      expect(ticks).toHaveBeenCalledTimes(1);
    } finally {
      ticks.mockRestore();
    }
    a.socket.write('a');
    b.socket.write('b');
    expect([a.socket.writableLength, b.socket.writableLength]).toEqual([1, 1]);
    await turn();
    expect([a.socket.writableLength, b.socket.writableLength]).toEqual([0, 0]);
  });

  it('holds nothing in a later turn unless asked again, and a socket never held writes at once', async () => {
    const { socket } = await connection();
    const hold = turnWrites(socket);
    hold();
    socket.write('x');
    await turn();
    socket.write('y');
    expect(socket.writableLength).toBe(0);
    expect(socket.writableCorked).toBe(0);
  });
});
