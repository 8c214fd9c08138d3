import { InputError } from '../db/errors';
import { MAX_PAGE_SIZE } from '../db/pagination';
import type { Principal } from './auth';
import type { Services } from './services';

/** The contract between the REST door (src/http) and the routes each module declares. */
export type RestRequest = {
  requestId: string;
  principal: Principal | null;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Request headers, lower-case names (conditional requests read If-None-Match). */
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  services: Services;
};

export type RestResponse = {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /**
   * Sent instead of a JSON body, chunk by chunk as the client takes them (a long log never sits in
   * memory); `headers` name its content type. A client that leaves ends the iteration.
   */
  stream?: AsyncIterable<string>;
  /** Sent as is instead of a JSON body (a workspace tarball); `headers` name its content type. */
  raw?: Buffer;
};

export type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with `{param}` segments, e.g. `/api/v1/agents/{blueprint}/runs/{id}`. */
  path: string;
  /** Required scope; routes without one are public. */
  scope?: string;
  handler: (req: RestRequest) => Promise<RestResponse> | RestResponse;
};

/** `?limit=&cursor=` as keyset page arguments. */
export function pageArgsFromQuery(query: URLSearchParams): { first?: number; after?: string } {
  const limit = query.get('limit');
  const cursor = query.get('cursor');
  if (limit !== null && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_PAGE_SIZE)) {
    throw new InputError(`limit must be between 1 and ${MAX_PAGE_SIZE}.`, 'limit');
  }
  return { ...(limit !== null ? { first: Number(limit) } : {}), ...(cursor ? { after: cursor } : {}) };
}

/** The seeds' list envelope: `{data, has_more, next_cursor}`. */
export function listEnvelope<T>(
  page: { nodes: T[]; hasNextPage: boolean; endCursor: string | null },
  toJson: (node: T) => unknown,
) {
  return {
    data: page.nodes.map(toJson),
    has_more: page.hasNextPage,
    next_cursor: page.hasNextPage ? page.endCursor : null,
  };
}
