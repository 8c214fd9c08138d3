/**
 * Test support: an in-process fake of a Runlane server's `/worker/*` routes, speaking the protocol
 * the reference worker is written against (DESIGN §5, seed 001), with knobs for failures; and a
 * helper starting a worker against it with fast timings.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { NO_WORK } from '../../src/modules/workflows/worker-protocol.rest';
import { createLogger } from '../../src/platform/log';
import type { Claim, LogLine, StepClaim, StepResult } from './protocol';
import { startRestWorker, type RestWorker, type RestWorkerOptions } from './worker';

export const TEST_TOKEN = 'rl_test_token_0123456789abcdef0123456789';

type Work = { claim: Claim; requiredTags: string[] } | { reject: string; requiredTags: string[] };
type Workspace = { revision: string; archives: Map<string, Buffer> };
type Files = Record<string, string | { content: string; mode: number }>;

export class FakeServer {
  url = '';
  readonly workers: { id: string; name: string; tags: string[]; version: string }[] = [];
  readonly registerAttempts: number[] = [];
  readonly heartbeats: string[] = [];
  readonly claimRequests: { worker_id: string; tags: string[]; at: number }[] = [];
  readonly starts: { jobId: string; step: string; workerId: string; at: number }[] = [];
  readonly completes: { jobId: string; step: string; result: StepResult; at: number }[] = [];
  readonly jobCompletes: { jobId: string; output: unknown }[] = [];
  readonly logRequests: { jobId: string; step: string; lines: LogLine[]; bytes: number }[] = [];
  readonly downloads: { workspace: string; ifNoneMatch: string | null; revision: string | null; status: number }[] = [];
  readonly cancelPolls: string[] = [];
  readonly authHeaders = new Set<string>();

  /** Status codes register answers with before it succeeds (e.g. [503, 503]). */
  registerFailures: number[] = [];
  /** Status codes heartbeats answer with, one per heartbeat, before they succeed again. */
  heartbeatFailures: number[] = [];
  /** Status codes claims answer with, one per claim, before they work again. */
  claimFailures: number[] = [];
  /** `${jobId}/${step}` → status the start answers with. */
  readonly startStatus = new Map<string, number>();
  /** Status the logs route answers with (for failure tests); null = 200. */
  logsStatus: number | null = null;

  private readonly queue: Work[] = [];
  private readonly workspaces = new Map<string, Workspace>();
  private readonly cancelled = new Set<string>();
  private server: Server | null = null;
  private seq = 0;

  constructor(readonly token = TEST_TOKEN) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: Error) => send(res, 500, { error: 'INTERNAL_ERROR', message: err.message, status: 500 }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  enqueue(claim: Claim, requiredTags: string[] = ['script']): void {
    this.queue.push({ claim, requiredTags });
  }

  /** The next claim answers 422, as when the server fails a step whose templates do not render. */
  enqueueRenderFailure(message: string, requiredTags: string[] = ['script']): void {
    this.queue.push({ reject: message, requiredTags });
  }

  get queued(): number {
    return this.queue.length;
  }

  cancel(jobId: string): void {
    this.cancelled.add(jobId);
  }

  /** Publishes a workspace revision built from `files`; returns the revision (a content hash). */
  async setWorkspace(name: string, files: Files): Promise<string> {
    const archive = await tarGz(files);
    const revision = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
    const archives = this.workspaces.get(name)?.archives ?? new Map<string, Buffer>();
    archives.set(revision, archive);
    this.workspaces.set(name, { revision, archives });
    return revision;
  }

  /** Forgets every registered worker, as when the server's data is reset. */
  forgetWorkers(): void {
    this.workers.splice(0);
  }

  completeOf(jobId: string, step: string): StepResult | undefined {
    return this.completes.find((c) => c.jobId === jobId && c.step === step)?.result;
  }

  linesOf(jobId: string, step: string): LogLine[] {
    return this.logRequests.filter((r) => r.jobId === jobId && r.step === step).flatMap((r) => r.lines);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const auth = req.headers.authorization ?? '';
    this.authHeaders.add(auth);
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === '/worker/register' && this.registerFailures.length) {
      const status = this.registerFailures.shift()!;
      this.registerAttempts.push(Date.now());
      await readJson(req);
      return send(res, status, { error: status === 401 ? 'UNAUTHORIZED' : 'UNAVAILABLE', message: `register failed with ${status}`, status });
    }
    if (auth !== `Bearer ${this.token}`) return send(res, 401, { error: 'UNAUTHORIZED', message: 'Invalid token', status: 401 });

    if (req.method === 'POST' && path === '/worker/register') {
      this.registerAttempts.push(Date.now());
      const body = await readJson(req);
      const id = `worker-${++this.seq}`;
      this.workers.push({ id, name: body.name, tags: body.tags, version: body.version });
      return send(res, 200, { worker_id: id });
    }
    if (req.method === 'POST' && path === '/worker/heartbeat') {
      const body = await readJson(req);
      this.heartbeats.push(body.worker_id);
      const failure = this.heartbeatFailures.shift();
      if (failure) return send(res, failure, { error: failure === 404 ? 'NOT_FOUND' : 'INTERNAL_ERROR', message: 'Worker not found', status: failure });
      if (!this.workers.some((w) => w.id === body.worker_id)) return send(res, 404, { error: 'NOT_FOUND', message: 'Worker not found', status: 404 });
      return send(res, 200, { status: 'ok' });
    }
    if (req.method === 'POST' && path === '/worker/jobs/claim') {
      const body = await readJson(req);
      this.claimRequests.push({ ...body, at: Date.now() });
      const failure = this.claimFailures.shift();
      if (failure) return send(res, failure, { error: 'INTERNAL_ERROR', message: 'claim failed', status: failure });
      // Like Runlane: any call of a worker counts as a heartbeat, and an unknown worker is a 404.
      if (!this.workers.some((w) => w.id === body.worker_id)) return send(res, 404, { error: 'NOT_FOUND', message: 'Worker not found', status: 404 });
      const index = this.queue.findIndex((w) => w.requiredTags.every((t) => (body.tags as string[]).includes(t)));
      if (index < 0) return send(res, 200, NO_WORK);
      const [work] = this.queue.splice(index, 1);
      if ('reject' in work!) return send(res, 422, { error: 'INVALID_REQUEST', message: work.reject, status: 422 });
      return send(res, 200, work!.claim);
    }
    const ws = /^\/worker\/workspace\/([^/]+)\.tar\.gz$/.exec(path);
    if (req.method === 'GET' && ws) {
      const name = decodeURIComponent(ws[1]!);
      const ifNoneMatch = (req.headers['if-none-match'] as string | undefined) ?? null;
      const asked = url.searchParams.get('revision');
      const workspace = this.workspaces.get(name);
      const revision = asked ?? workspace?.revision;
      const archive = revision ? workspace?.archives.get(revision) : undefined;
      if (!archive) {
        this.downloads.push({ workspace: name, ifNoneMatch, revision: asked, status: 404 });
        return send(res, 404, { error: 'NOT_FOUND', message: `Workspace '${name}' not found`, status: 404 });
      }
      if (ifNoneMatch && ifNoneMatch.replace(/"/g, '') === revision) {
        this.downloads.push({ workspace: name, ifNoneMatch, revision: asked, status: 304 });
        res.writeHead(304, { etag: `"${revision}"`, 'x-revision': revision });
        return void res.end();
      }
      this.downloads.push({ workspace: name, ifNoneMatch, revision: asked, status: 200 });
      res.writeHead(200, { 'content-type': 'application/gzip', 'x-revision': revision, etag: `"${revision}"` });
      return void res.end(archive);
    }
    const job = /^\/worker\/jobs\/([^/]+)\/(cancelled|complete|logs|steps\/([^/]+)\/(start|complete))$/.exec(path);
    if (job) {
      const jobId = decodeURIComponent(job[1]!);
      const step = job[3] ? decodeURIComponent(job[3]) : null;
      if (req.method === 'GET' && job[2] === 'cancelled') {
        this.cancelPolls.push(jobId);
        return send(res, 200, { cancelled: this.cancelled.has(jobId) });
      }
      const raw = await readRaw(req);
      const body = JSON.parse(raw.toString('utf8') || '{}');
      if (job[2] === 'logs') {
        if (this.logsStatus) return send(res, this.logsStatus, { error: 'UNAVAILABLE', message: 'logs refused', status: this.logsStatus });
        this.logRequests.push({ jobId, step: body.step_name, lines: body.lines, bytes: raw.length });
        return send(res, 200, { status: 'ok' });
      }
      if (job[2] === 'complete') {
        this.jobCompletes.push({ jobId, output: body.output });
        return send(res, 200, { status: 'ok' });
      }
      if (job[4] === 'start') {
        const status = this.startStatus.get(`${jobId}/${step}`);
        if (status) return send(res, status, { error: status === 409 ? 'CONFLICT' : 'NOT_FOUND', message: 'Step is not yours', status });
        this.starts.push({ jobId, step: step!, workerId: body.worker_id, at: Date.now() });
        return send(res, 200, { status: 'ok' });
      }
      this.completes.push({ jobId, step: step!, result: body, at: Date.now() });
      return send(res, 200, { status: 'ok' });
    }
    return send(res, 404, { error: 'NOT_FOUND', message: `No route ${req.method} ${path}`, status: 404 });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readRaw(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<any> {
  const raw = await readRaw(req);
  return JSON.parse(raw.toString('utf8') || '{}');
}

/** A gzipped tar holding `files` (paths relative to the workspace root). */
export async function tarGz(files: Files): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, file] of Object.entries(files)) {
    const content = typeof file === 'string' ? file : file.content;
    pack.entry({ name, mode: typeof file === 'string' ? 0o644 : file.mode, size: Buffer.byteLength(content) }, content);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return gzipSync(Buffer.concat(chunks));
}

/** Polls `predicate` until it holds (returning its value) or `timeoutMs` passes (throwing). */
export async function waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const FAST_TIMINGS = {
  pollMs: 20,
  heartbeatMs: 60_000,
  logFlushMs: 30,
  cancelPollMs: 50,
  killGraceMs: 300,
  drainMs: 2_000,
  registerBackoffBaseMs: 10,
  registerBackoffMaxMs: 200,
  retryBaseMs: 10,
  requestTimeoutMs: 5_000,
};

/** Starts workers against a fake server with fast timings and a temporary cache; `cleanup()` stops them all. */
export function workerHarness() {
  const started: RestWorker[] = [];
  const dirs: string[] = [];
  return {
    start(server: FakeServer, options: Partial<RestWorkerOptions> = {}): RestWorker {
      const cacheDir = mkdtempSync(join(tmpdir(), 'runlane-worker-test-'));
      dirs.push(cacheDir);
      const worker = startRestWorker({
        server: server.url,
        token: server.token,
        name: 'test-worker',
        cacheDir,
        dockerBinary: null,
        logger: createLogger('silent'),
        ...options,
        timings: { ...FAST_TIMINGS, ...options.timings },
      });
      started.push(worker);
      return worker;
    },
    async cleanup(): Promise<void> {
      await Promise.all(started.splice(0).map((w) => w.stop()));
      for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let jobSeq = 0;

/** A claimed `script` step of a distributed job (runner local), in the server's claim shape. */
export function scriptStep(script: string, overrides: Partial<StepClaim> & { spec?: Record<string, unknown> } = {}): StepClaim {
  const { spec, ...rest } = overrides;
  return {
    job_id: `job-${++jobSeq}-${Date.now()}`,
    workspace: 'default',
    task_name: 'test-task',
    step_name: 'run',
    action_name: 'act',
    action_type: 'script',
    action_image: null,
    runner: 'local',
    action_spec: { type: 'script', script, env: {}, tags: [], ...spec },
    input: {},
    ...rest,
  };
}
