import { hostname } from 'node:os';
import type { App } from '../src/app';
import { PgListener } from '../src/db/listener';
import { tenantStatements } from '../src/db/tenant-transaction';
import { LeaseLostError, LeaseQueue, ShutdownError, type Consumer, type Lease } from '../src/platform/lease-queue';
import { findBlueprint } from '../src/modules/configs/blueprints';
import { contactTools } from '../src/modules/contacts/contact-tools';
import { RunJournal } from '../src/modules/runs/run-journal';
import { RUN_CANCELLED, RUN_QUEUE_CHANNEL, type RunCancelled } from '../src/modules/runs/run-channels';
import { runAgentLoop } from './agent-loop';
import { LogBuffer } from './log-buffer';
import { RunSpans } from './run-spans';
import { RunAborted, RunDeferred, RunFailure, RunWaiting } from './run-failure';
import { ToolGuard } from './tool-guard';
import { compileGuardrails } from '../src/modules/guardrails/guardrail-engine';
import { assembleRunTools, type RunTools } from './run-tools';
import { isActionRef, workflowActionTools } from './action-tools';

/** Attempts after which an unexpected error fails the run instead of handing it back. */
const MAX_ATTEMPTS_ON_UNEXPECTED = 3;

class RunCancelledError extends Error {
  constructor() {
    super('run cancelled');
    this.name = 'RunCancelledError';
  }
}

/**
 * The pool of agent-run slots of one worker process: claims runs through the lease queue as slots
 * free up, drives each through the agent loop, aborts a run within a second of its cancellation
 * (bus) or of losing its lease (renewal), and on shutdown stops claiming, lets running steps finish
 * within the grace period and hands the rest back to the queue.
 */
export class AgentPool {
  readonly owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  private readonly listener: PgListener;
  private readonly queue: LeaseQueue;
  private consumer: Consumer | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly app: App,
    private readonly slots: number,
  ) {
    const onError = (err: unknown) => app.log.error({ err }, 'run queue error');
    this.listener = new PgListener({ url: app.databaseUrl, onError, applicationName: 'runlane-worker' });
    const { leaseSeconds, renewEveryMs, pollEveryMs } = app.config.runs;
    this.queue = new LeaseQueue({
      orm: app.orm,
      listener: this.listener,
      prefix: 'runlane_runs',
      channel: RUN_QUEUE_CHANNEL,
      leaseSeconds,
      renewEveryMs,
      pollEveryMs,
      sweepEveryMs: Math.max(1_000, leaseSeconds * 200),
      onError,
    });
  }

  async start(): Promise<void> {
    this.unsubscribe = await this.app.bus.subscribe(RUN_CANCELLED, (message) => {
      this.running.get((message as RunCancelled).runId)?.abort(new RunCancelledError());
    });
    await this.listener.start();
    this.consumer = this.queue.consume({
      owner: this.owner,
      wanted: () => this.slots - this.running.size,
      handle: (lease, leaseSignal) => this.execute(lease, leaseSignal),
    });
    await this.consumer.ready();
  }

  slotsInUse(): number {
    return this.running.size;
  }

  /** True between start() and stop(): the pool claims runs. */
  get claiming(): boolean {
    return this.consumer !== null;
  }

  async stop(graceMs = 10_000): Promise<void> {
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.stop({ graceMs });
    await this.unsubscribe?.();
    await this.listener.stop();
  }

  private async execute(lease: Lease, leaseSignal: AbortSignal): Promise<void> {
    const cancel = new AbortController();
    this.running.set(lease.id, cancel);
    const signal = AbortSignal.any([leaseSignal, cancel.signal]);
    const { services, config } = this.app;
    const journal = new RunJournal({ orm: this.app.orm, bus: this.app.bus, onPublishError: (err) => this.app.log.warn({ err }, 'publish failed') }, lease);
    const log = new LogBuffer((lines) => journal.log(lines));
    let tools: RunTools | null = null;
    let spans: RunSpans | null = null;
    let attempts = 1;
    try {
      const keys = tenantStatements(this.app.orm, lease.tenantId);
      const { run, steps, read } = await journal.begin(this.owner, {
        start: services.agentConfigs.runConfigRead(lease.tenantId, { runId: lease.id }, keys),
        apps: services.apps.runnableAppsRead(lease.tenantId, keys),
      });
      attempts = run.attempts;
      spans = new RunSpans(this.app.tracing.tracer, { id: run.id, tenantId: run.tenantId, blueprint: run.agentBlueprint, attempt: run.attempts, worker: this.owner });
      const { config: agentConfig, apiKey } = read.start;
      const { apps } = read;
      const blueprint = findBlueprint(run.agentBlueprint);
      if (!agentConfig || !blueprint) throw new RunFailure('config_error', `No agent config for blueprint ${run.agentBlueprint}.`);
      if (!apiKey) {
        throw new RunFailure('auth_failed', `No usable BYOK key for ${run.agentBlueprint} (status ${agentConfig.byokStatus}); set one with setByokKey.`);
      }
      const deadlineAt = run.deadlineAt!;
      const wanted = agentConfig.tools.length ? agentConfig.tools : blueprint.tools;
      const actions = await workflowActionTools(wanted.filter(isActionRef), {
        tenantId: lease.tenantId,
        runId: lease.id,
        workspaces: services.workspaces,
        jobs: services.jobs,
        journal,
      });
      tools = assembleRunTools({
        builtins: [...contactTools(services.contacts), ...actions.values()],
        wanted: wanted.map((name) => actions.get(name)?.name ?? name),
        apps,
        mcp: this.app.mcp,
        remainingMs: () => Math.max(1, deadlineAt.getTime() - Date.now()),
      });
      const { output, finalStep } = await runAgentLoop({
        tenantId: lease.tenantId,
        runId: lease.id,
        input: run.input,
        budgetUsdCents: run.budgetUsdCents === null ? null : Number(run.budgetUsdCents),
        deadlineAt,
        settings: {
          model: agentConfig.model ?? blueprint.model,
          systemPrompt: agentConfig.systemPrompt ?? blueprint.systemPrompt,
          maxTokens: config.runs.maxTokens,
        },
        tools: tools.tools,
        recorded: steps,
        journal,
        log,
        spans,
        guard: new ToolGuard({
          orm: this.app.orm,
          tenantId: lease.tenantId,
          runId: lease.id,
          // A config without rules of its own has its blueprint's.
          rules: compileGuardrails(agentConfig.guardrails.length ? agentConfig.guardrails : blueprint.guardrails, `${agentConfig.id}:${agentConfig.version}`),
          rateLimiter: this.app.rateLimiter,
          tenantTimezone: agentConfig.tenantTimezone,
          journal,
        }),
        apiKey,
        anthropicBaseUrl: config.anthropicBaseUrl,
        signal,
      });
      log.line('system', 'run', `succeeded after ${output.turns} turns`);
      await journal.succeed(output, await log.drain(), finalStep);
      spans.end('succeeded');
    } catch (err) {
      const ended = await this.settle(err, { journal, log, signal, leaseSignal, attempts });
      spans?.end(ended.outcome, ended.category);
    } finally {
      log.close();
      await tools?.close();
      this.running.delete(lease.id);
    }
  }

  /** How a run that did not succeed ends: failed, handed back, or left alone (cancelled, lease lost). */
  private async settle(
    err: unknown,
    context: { journal: RunJournal; log: LogBuffer; signal: AbortSignal; leaseSignal: AbortSignal; attempts: number },
  ): Promise<{ outcome: 'failed' | 'released' | 'waiting' | 'aborted'; category?: string }> {
    const { journal, log, signal, leaseSignal, attempts } = context;
    try {
      // Paused at an approval gate or waiting on a workflow job: the journal already made the run 'waiting', without its lease.
      if (err instanceof RunWaiting) return { outcome: 'waiting' };
      if (err instanceof RunDeferred) {
        await journal.release(`deferred by a guardrail: ${err.reason}`, Math.max(0, err.until.getTime() - Date.now()), { extendDeadline: true });
        return { outcome: 'released' };
      }
      if (err instanceof LeaseLostError || err instanceof RunAborted || signal.aborted) {
        // Cancelled or taken away: the run is someone else's now. Shutting down: hand it back.
        if (!(leaseSignal.reason instanceof ShutdownError)) return { outcome: 'aborted' };
        await journal.release('worker shutting down');
        return { outcome: 'released' };
      }
      if (err instanceof RunFailure) {
        log.line('system', 'run', `failed: ${err.category}: ${err.detail}`);
        await journal.fail(err.category, err.detail, await log.drain().catch(() => []));
        return { outcome: 'failed', category: err.category };
      }
      this.app.log.error({ err, runId: journal.lease.id }, 'run failed unexpectedly');
      if (attempts < MAX_ATTEMPTS_ON_UNEXPECTED) {
        await journal.release('internal error; retrying', 1_000 * attempts);
        return { outcome: 'released' };
      }
      await journal.fail('config_error', 'The run failed with an internal error several times.');
      return { outcome: 'failed', category: 'config_error' };
    } catch (settleErr) {
      // The lease is gone or the database is away: the sweeper hands the run back later.
      if (!(settleErr instanceof LeaseLostError)) this.app.log.warn({ err: settleErr }, 'could not settle run');
      return { outcome: 'aborted' };
    }
  }
}
