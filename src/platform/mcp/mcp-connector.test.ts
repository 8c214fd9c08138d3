import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMcpServer, type FakeMcpServer } from '../../../test/fakes/mcp-server';
import { OutboundError } from '../outbound/safe-fetch';
import { createMcpConnector } from './mcp-connector';

// The connector is what services use: MCP over the outbound guard, one guarded fetch per operation.
let server: FakeMcpServer;
const relaxed = createMcpConnector({ policy: { allowHttp: true, allowPrivate: true }, limits: { deadlineMs: 2_000 } });
const strict = createMcpConnector({ policy: { allowHttp: false, allowPrivate: false } });

beforeAll(async () => {
  server = await startFakeMcpServer({ stateful: true, json: true, auth: { type: 'bearer', token: 'tok-connector-1234' }, tools: [{ name: 'echo', inputSchema: { type: 'object' } }] });
});
afterAll(async () => {
  await server?.close();
});

describe('createMcpConnector', () => {
  it('lists tools through the guard', async () => {
    expect(await relaxed.listTools(server.url, { type: 'bearer', token: 'tok-connector-1234' })).toEqual([{ name: 'echo', inputSchema: { type: 'object' } }]);
  });

  it('opens a session for several tool calls and ends it on close', async () => {
    const session = await relaxed.openSession(server.url, { type: 'bearer', token: 'tok-connector-1234' }, { deadlineMs: 2_000 });
    expect(server.sessions).toBe(1);
    for (const n of [1, 2]) {
      const result = await session.callTool('echo', { n }, { deadlineMs: 1_000 });
      expect(result.isError).toBe(false);
      expect(JSON.stringify(result.content)).toContain(`\\"n\\":${n}`);
    }
    await session.close();
    expect(server.sessions).toBe(0);
    expect(server.calls.map((c) => c.args)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('refuses a loopback server with the guard on, before any request', async () => {
    const before = server.requests.length;
    await expect(strict.checkUrl(server.url)).rejects.toBeInstanceOf(OutboundError);
    await expect(strict.listTools(server.url.replace('http:', 'https:'), { type: 'none' })).rejects.toMatchObject({ reason: 'unreachable' });
    expect(server.requests.length).toBe(before);
  });
});
