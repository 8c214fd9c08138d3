import type { Route } from '../../platform/rest';
import type { HealthService } from './health.service';

declare module '../../platform/services' {
  interface Services {
    health: HealthService;
  }
}

/** Seed 000's runtime endpoints. Both answer 200 with a status; callers read the body. */
export const systemRoutes: Route[] = [
  {
    method: 'GET',
    path: '/agents/v1/health',
    scope: 'health:read',
    handler: async ({ services }) => ({ status: 200, body: await services.health.health() }),
  },
  {
    method: 'GET',
    path: '/agents/v1/readiness',
    scope: 'readiness:read',
    handler: async ({ services }) => ({ status: 200, body: await services.health.readiness() }),
  },
];
