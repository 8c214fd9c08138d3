import type { Principal } from './auth';
import type { Services } from './services';

/** The contract between the REST door (src/http) and the routes each module declares. */
export type RestRequest = {
  requestId: string;
  principal: Principal | null;
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  services: Services;
};

export type RestResponse = { status: number; body?: unknown; headers?: Record<string, string> };

export type Route = {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path with `{param}` segments, e.g. `/api/v1/agents/{blueprint}/runs/{id}`. */
  path: string;
  /** Required scope; routes without one are public. */
  scope?: string;
  handler: (req: RestRequest) => Promise<RestResponse> | RestResponse;
};
