import type { Orm } from '../../db/orm';
import type { Bus } from '../../platform/bus';

export type ComponentStatus = { ok: boolean; latencyMs?: number; kind?: string; detail?: string };

export type HealthReport = {
  status: 'ok' | 'degraded';
  service: 'runlane';
  version: string;
  environment: string;
  generatedAt: string;
  timezone: string;
  systemComponents: Record<string, ComponentStatus>;
};

export type Deduction = { component: string; points: number; reason: string };

export type ReadinessReport = HealthReport & {
  readinessScore: number;
  readinessThreshold: number;
  ready: boolean;
  deductions: Deduction[];
  warnings: string[];
};

/** Extra readiness inputs from the process (e.g. the worker pool inside `runlane serve`). */
export type ReadinessContributor = () => { component: string; status: ComponentStatus; weight: number; warning?: string };

const CHECK_TIMEOUT_MS = 2_000;
export const READINESS_THRESHOLD = 50;

async function timed(check: () => Promise<boolean>): Promise<ComponentStatus> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const ok = await Promise.race([
      check(),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch {
    return { ok: false, latencyMs: Math.round(performance.now() - started), detail: 'check failed' };
  } finally {
    clearTimeout(timer);
  }
}

export class HealthService {
  constructor(
    private readonly deps: {
      orm: Orm;
      bus: Bus;
      version: string;
      environment: string;
      contributors?: ReadinessContributor[];
    },
  ) {}

  /** Adds a readiness input once the process has it (the worker pool starts after the services). */
  addContributor(contributor: ReadinessContributor): void {
    (this.deps.contributors ??= []).push(contributor);
  }

  async health(): Promise<HealthReport> {
    const [database, bus] = await Promise.all([
      timed(async () => {
        await this.deps.orm.em.fork().execute('select 1');
        return true;
      }),
      timed(() => this.deps.bus.ping()),
    ]);
    const systemComponents: Record<string, ComponentStatus> = {
      database,
      bus: { ...bus, kind: this.deps.bus.kind },
    };
    for (const contribute of this.deps.contributors ?? []) {
      const { component, status } = contribute();
      systemComponents[component] = status;
    }
    return {
      status: Object.values(systemComponents).every((c) => c.ok) ? 'ok' : 'degraded',
      service: 'runlane',
      version: this.deps.version,
      environment: this.deps.environment,
      generatedAt: new Date().toISOString(),
      timezone: 'UTC',
      systemComponents,
    };
  }

  /** The health report plus a score: 20 for answering at all, 50 for the database, 30 for the bus. */
  async readiness(): Promise<ReadinessReport> {
    const health = await this.health();
    const deductions: Deduction[] = [];
    const warnings: string[] = [];
    const components = health.systemComponents;
    if (!components.database?.ok) {
      deductions.push({ component: 'database', points: 50, reason: 'PostgreSQL did not answer within 2 s.' });
    }
    if (!components.bus?.ok) {
      deductions.push({ component: 'bus', points: 30, reason: 'Redis did not answer; live updates cannot fan out.' });
    } else if (this.deps.bus.kind === 'in-process') {
      warnings.push('In-process bus: single-process mode only; set REDIS_URL to run several processes.');
    }
    for (const contribute of this.deps.contributors ?? []) {
      const { component, status, weight, warning } = contribute();
      if (!status.ok && weight > 0) deductions.push({ component, points: weight, reason: status.detail ?? `${component} is not ready.` });
      if (warning) warnings.push(warning);
    }
    const score = Math.max(0, 100 - deductions.reduce((sum, d) => sum + d.points, 0));
    return {
      ...health,
      readinessScore: score,
      readinessThreshold: READINESS_THRESHOLD,
      ready: score >= READINESS_THRESHOLD,
      deductions,
      warnings,
    };
  }
}
