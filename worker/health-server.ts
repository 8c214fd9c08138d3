import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Liveness and readiness of a `runlane worker` process, on WORKER_HEALTH_PORT. The pool
 * reports its slots here; until the pool exists (a later issue) every slot is free.
 */
export async function startWorkerHealthServer(options: {
  port: number;
  slots: number;
  slotsInUse?: () => number;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    if (path === '/healthz') return send(200, { status: 'ok' });
    if (path === '/readyz') {
      return send(200, { ready: true, slots: options.slots, slotsInUse: options.slotsInUse?.() ?? 0 });
    }
    send(404, { error: 'NOT_FOUND', message: 'Try /healthz or /readyz.', status: 404 });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
