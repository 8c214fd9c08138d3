import type { Claim, LogLine, StepResult } from './protocol';

/** The server answered with an error status; `code` and `message` come from its JSON error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The server could not be reached, or the exchange broke off (refused, reset, timed out). */
export class TransportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

/** Worth retrying: the server is unreachable, overloaded (429) or failing (5xx). */
export function isTransient(err: unknown): boolean {
  if (err instanceof TransportError) return true;
  return err instanceof ApiError && (err.status >= 500 || err.status === 429);
}

/** The token is refused: nothing will change by retrying. */
export function isAuthFailure(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 401 || err.status === 403);
}

export function isStatus(err: unknown, ...statuses: number[]): boolean {
  return err instanceof ApiError && statuses.includes(err.status);
}

export type WorkspaceDownload = { notModified: true } | { notModified: false; revision: string | null; archive: Buffer };

export type WorkerClientOptions = {
  server: string;
  token: string;
  /** Per request; a workspace download gets ten times as long. Default 30 s. */
  requestTimeoutMs?: number;
};

/**
 * The HTTP client of the `/worker/*` protocol. Every call carries the bearer token; the token is
 * never part of an error message, so it cannot reach a log.
 */
export class WorkerClient {
  private readonly base: string;
  private readonly token: string;
  private readonly timeoutMs: number;

  constructor(options: WorkerClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  async register(body: { name: string; tags: string[]; version: string }): Promise<string> {
    const res = await this.json<{ worker_id?: unknown }>('POST', '/worker/register', body);
    if (typeof res.worker_id !== 'string' || !res.worker_id) throw new ApiError(502, 'BAD_RESPONSE', 'register answered without a worker_id');
    return res.worker_id;
  }

  async heartbeat(workerId: string): Promise<void> {
    await this.json('POST', '/worker/heartbeat', { worker_id: workerId });
  }

  /** The next step (or local-mode job) for these tags, or null when there is no work. */
  async claim(workerId: string, tags: string[]): Promise<Claim | null> {
    const res = await this.json<Partial<Claim> | null>('POST', '/worker/jobs/claim', { worker_id: workerId, tags });
    if (!res || typeof res.job_id !== 'string' || !res.job_id) return null;
    return res as Claim;
  }

  async startStep(jobId: string, step: string, workerId: string): Promise<void> {
    await this.json('POST', `${this.jobPath(jobId)}/steps/${encodeURIComponent(step)}/start`, { worker_id: workerId });
  }

  async completeStep(jobId: string, step: string, result: StepResult): Promise<void> {
    await this.json('POST', `${this.jobPath(jobId)}/steps/${encodeURIComponent(step)}/complete`, result);
  }

  async pushLogs(jobId: string, stepName: string, lines: LogLine[]): Promise<void> {
    await this.json('POST', `${this.jobPath(jobId)}/logs`, { step_name: stepName, lines });
  }

  async isCancelled(jobId: string): Promise<boolean> {
    const res = await this.json<{ cancelled?: unknown }>('GET', `${this.jobPath(jobId)}/cancelled`);
    return res.cancelled === true;
  }

  async completeJob(jobId: string, output: unknown): Promise<void> {
    await this.json('POST', `${this.jobPath(jobId)}/complete`, { output });
  }

  /**
   * `GET /worker/workspace/{ws}.tar.gz`, conditional on the revision the cache holds. With
   * `revision`, that revision is asked for (`?revision=`, which Runlane honours; a server that does
   * not sends its current one, which the caller takes as it comes).
   */
  async downloadWorkspace(workspace: string, currentRevision: string | null, revision?: string | null): Promise<WorkspaceDownload> {
    const headers: Record<string, string> = {};
    if (currentRevision) headers['if-none-match'] = `"${currentRevision}"`;
    const query = revision ? `?revision=${encodeURIComponent(revision)}` : '';
    const res = await this.send('GET', `/worker/workspace/${encodeURIComponent(workspace)}.tar.gz${query}`, undefined, headers, this.timeoutMs * 10);
    if (res.status === 304) {
      await res.body?.cancel().catch(() => {});
      return { notModified: true };
    }
    if (!res.ok) throw await errorOf(res);
    const archive = Buffer.from(await readBody(res));
    const etag = res.headers.get('etag')?.replace(/^W\//, '').replace(/^"|"$/g, '') || null;
    return { notModified: false, revision: res.headers.get('x-revision') || etag, archive };
  }

  private jobPath(jobId: string): string {
    return `/worker/jobs/${encodeURIComponent(jobId)}`;
  }

  private async json<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, {}, this.timeoutMs);
    if (!res.ok) throw await errorOf(res);
    const text = await readBody(res).then((b) => Buffer.from(b).toString('utf8'));
    if (!text) return {} as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(502, 'BAD_RESPONSE', `${method} ${path} answered with invalid JSON`);
    }
  }

  private async send(method: string, path: string, body: unknown, headers: Record<string, string>, timeoutMs: number): Promise<Response> {
    try {
      return await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new TransportError(`${method} ${path}: ${describeFetchError(err)}`);
    }
  }
}

async function readBody(res: Response): Promise<ArrayBuffer> {
  try {
    return await res.arrayBuffer();
  } catch (err) {
    throw new TransportError(`reading the answer failed: ${describeFetchError(err)}`);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const body = (await res.json()) as { error?: unknown; message?: unknown };
    // Runlane sends {error: CODE, message}; Strøm sends {error: message}.
    if (typeof body.message === 'string') {
      message = body.message;
      if (typeof body.error === 'string') code = body.error;
    } else if (typeof body.error === 'string') {
      message = body.error;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(res.status, code, message);
}

function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'request timed out';
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof Error) return (cause as NodeJS.ErrnoException).code ?? cause.message;
  return err.message;
}

/** A failure as one short line for the logs (no stack: these are expected, passing conditions). */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.status} ${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
