import type { Route } from '../platform/rest';
import { accountRoutes } from '../modules/accounts/accounts.rest';
import { appRoutes } from '../modules/apps/apps.rest';
import { approvalRoutes } from '../modules/approvals/approvals.rest';
import { configRoutes } from '../modules/configs/configs.rest';
import { keyRoutes } from '../modules/keys/keys.rest';
import { logRoutes } from '../modules/logs/logs.rest';
import { runRoutes } from '../modules/runs/runs.rest';
import { systemRoutes } from '../modules/system/system.rest';
import { jobRoutes } from '../modules/workflows/jobs.rest';
import { workerProtocolRoutes } from '../modules/workflows/worker-protocol.rest';
import { workerRoutes } from '../modules/workers/workers.rest';

/** Every module's REST routes. */
export const restRoutes: Route[] = [...systemRoutes, ...accountRoutes, ...configRoutes, ...keyRoutes, ...appRoutes, ...runRoutes, ...logRoutes, ...approvalRoutes, ...workerProtocolRoutes, ...jobRoutes, ...workerRoutes];
