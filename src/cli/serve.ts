import { WorkflowBridge } from '../../worker/workflow-bridge';
import { createApp, createAppHttpServer, createAppProber, createApprovalExpirer, createLogRetention, createRunScheduler, createWorkflowSweeper, type App } from '../app';
import { startWorkerHealthServer } from '../../worker/health-server';
import { AgentPool } from '../../worker/agent-pool';
import type { CommandArgs } from './index';
import { configOrExit, keyringFor, loggerFor, openDatabase, requireRedisForSplit } from './runtime';
import { tokenNotice } from './present';

type Role = 'serve' | 'api' | 'worker';

/** `serve` = API + worker pool in one process; `api` and `worker` are the split deployment. */
export async function serveCommand(role: Role, _args: CommandArgs): Promise<number> {
  const config = configOrExit();
  const log = loggerFor(config);
  if (role !== 'serve') requireRedisForSplit(config, role);
  if (config.outbound.allowHttp || config.outbound.allowPrivate) {
    log.warn(
      { allowHttp: config.outbound.allowHttp, allowPrivate: config.outbound.allowPrivate },
      'Outbound guard relaxed for tenant-supplied URLs (RUNLANE_OUTBOUND_ALLOW_*): development and tests only',
    );
  }
  const keyring = await keyringFor(config, log);
  const db = await openDatabase(config, log);
  const app = await createApp({ config, databaseUrl: db.appUrl, keyring, log });
  const closers: (() => Promise<void>)[] = [];

  if (role === 'serve') await ensureDefaultTenant(app);
  let pool: AgentPool | null = null;
  if (role !== 'api') {
    const background = [
      createAppProber(app),
      createRunScheduler(app),
      createApprovalExpirer(app),
      createLogRetention(app),
      createWorkflowSweeper(app),
      new WorkflowBridge(app, { tickMs: app.config.workflows.bridgeTickMs, batchSize: 50 }),
    ];
    for (const task of background) {
      task.start();
      closers.push(() => task.stop());
    }
    pool = new AgentPool(app, config.worker.slots);
    await pool.start();
    const running = pool;
    // In `serve` the pool shares the API's port, so its health is part of /readyz (DESIGN §6).
    app.services.health.addContributor(() => ({
      component: 'workers',
      status: {
        ok: running.claiming,
        detail: running.claiming ? `${running.slotsInUse()} of ${config.worker.slots} slots in use` : 'The worker pool has stopped.',
      },
      weight: 20,
    }));
    closers.push(() => running.stop(config.worker.shutdownGraceMs));
  }
  // Listening comes last, so a `serve` process's first answer already counts its worker pool.
  if (role !== 'worker') {
    const http = createAppHttpServer(app);
    const port = await http.listen(config.http.port, config.http.host);
    closers.push(() => http.close());
    log.info({ port, host: config.http.host, bus: app.bus.kind }, `Runlane ${role} listening on http://127.0.0.1:${port}/graphql`);
  }
  if (role === 'worker') {
    const health = await startWorkerHealthServer({
      port: config.worker.healthPort,
      slots: config.worker.slots,
      slotsInUse: () => pool?.slotsInUse() ?? 0,
    });
    closers.push(() => health.close());
    log.info({ port: health.port }, 'Runlane worker ready');
  }

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  for (const close of closers.reverse()) await close();
  await app.close();
  await db.close();
  return 0;
}

/** First start: create the default tenant and print its owner token, once. */
async function ensureDefaultTenant(app: App): Promise<void> {
  const slug = app.config.defaultTenant;
  if (await app.services.tenants.idOf(slug)) return;
  const created = await app.services.tenants.create({ slug, name: 'Default' });
  process.stdout.write(
    `\nCreated tenant "${slug}" with an owner account holding every scope.${tokenNotice(created.token)}\n`,
  );
}
