import { checkOutboundUrl, createSafeFetch, type SafeFetchOptions } from '../outbound/safe-fetch';
import { listMcpTools, McpSession, type McpAuth, type McpLimits, type McpTool } from './mcp-client';

export type McpConnectorOptions = SafeFetchOptions & { limits?: Partial<McpLimits> };

/**
 * Reaches tenant MCP servers, always through the outbound guard. Every operation gets its own
 * safe fetch, so a server's address is resolved and pinned once per operation and no connection
 * outlives it.
 */
export interface McpConnector {
  /** Refuses (OutboundError) a URL that may not be called: scheme, credentials, private address. */
  checkUrl(url: string): Promise<void>;
  listTools(url: string, auth: McpAuth, signal?: AbortSignal): Promise<McpTool[]>;
  /** A session for several tool calls; closing it also closes its connections. */
  openSession(url: string, auth: McpAuth, options: { deadlineMs: number; signal?: AbortSignal }): Promise<McpSession>;
}

export function createMcpConnector(options: McpConnectorOptions): McpConnector {
  const { limits, ...fetchOptions } = options;
  return {
    async checkUrl(url) {
      await checkOutboundUrl(url, fetchOptions.policy, fetchOptions.resolve);
    },
    async listTools(url, auth, signal) {
      const fetch = createSafeFetch(fetchOptions);
      try {
        return await listMcpTools({ url, auth, fetch }, limits, signal);
      } finally {
        await fetch.close();
      }
    },
    async openSession(url, auth, sessionOptions) {
      const fetch = createSafeFetch(fetchOptions);
      try {
        return await McpSession.open({ url, auth, fetch }, { ...sessionOptions, onClosed: () => fetch.close() });
      } catch (err) {
        await fetch.close();
        throw err;
      }
    },
  };
}
