import type { EntityManager } from '@mikro-orm/postgresql';
import type { PgListener } from '../db/listener';
import type { Orm } from '../db/orm';
import { isUuid } from '../db/ids';
import { callDefiner } from '../db/tenant-transaction';

/** One claimed row: who owns it, which row, and the token every write by its holder is fenced with. */
export type Lease = { tenantId: string; id: string; token: string };

export interface LeaseQueueOptions {
  orm: Orm;
  listener: PgListener;
  /** Prefix of the definer functions, e.g. 'runlane_runs' → runlane_runs_claim / _renew / _sweep. */
  prefix: string;
  /** NOTIFY channel, e.g. 'runlane_runs'. */
  channel: string;
  /** Lease length (DESIGN §3: 30). */
  leaseSeconds: number;
  /** How often a consumer renews its leases (DESIGN §3: 10 000); each wait is 80–100 % of it. */
  renewEveryMs: number;
  /** Safety-net poll of a consumer (e.g. 1 000); each wait is jittered by ±50 %. */
  pollEveryMs: number;
  /** A consumer's sweeper period (e.g. 5 000); each wait is jittered by ±50 %. */
  sweepEveryMs: number;
  onError: (err: unknown) => void;
}

export type ConsumeOptions = {
  /** Names the holder in `lease_owner` (e.g. host:pid). */
  owner: string;
  /**
   * How many more leases this consumer may take now (its free slots). Called right before every
   * claim, after the previous claim's leases were handed to `handle`; never claimed beyond.
   */
  wanted: () => number;
  /**
   * Works one lease. Called synchronously after the claim, not awaited; the lease counts as held
   * until the returned promise settles (then it is forgotten; there is no release call). It must
   * stop, and write nothing more, once `leaseSignal` aborts: reason LeaseLostError (the lease was
   * taken away or expired) or ShutdownError (the consumer is stopping and the grace ran out).
   * A rejection is reported to onError unless it is the signal's own reason.
   */
  handle: (lease: Lease, leaseSignal: AbortSignal) => Promise<void>;
};

export interface Consumer {
  /** Claims now (if there are free slots); a nudge during a claim makes it claim once more after. */
  nudge(): void;
  /** Leases handed to `handle` whose promise has not settled yet (lost ones included until they return). */
  heldLeases(): number;
  /** Resolves once the consumer listens on its channel and its first claim is done. */
  ready(): Promise<void>;
  /**
   * Stops claiming, polling and sweeping at once; waits up to `graceMs` (default 0) for running
   * handlers, keeping their leases renewed; then aborts the rest's leaseSignal with a
   * ShutdownError and waits for them to return. Leaves no timer or listener behind.
   */
  stop(options?: { graceMs: number }): Promise<void>;
}

/** The lease is not held any more: swept after expiry, cancelled, finished or taken elsewhere. */
export class LeaseLostError extends Error {
  constructor(
    readonly lease?: Lease,
    message = lease ? `Lease on ${lease.id} was lost.` : 'Lease was lost.',
  ) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** The consumer is stopping and the handler outlived the grace period. */
export class ShutdownError extends Error {
  constructor(message = 'The consumer is shutting down.') {
    super(message);
    this.name = 'ShutdownError';
  }
}

/**
 * Checks a write fenced by a lease (`update … where … and lease_token = ?`): no row touched means
 * the lease was lost, and the holder must stop. Accepts `em.execute(sql, params, 'run')`'s result.
 */
export function assertFenced(result: { affectedRows: number } | number, lease: Lease): void {
  const affected = typeof result === 'number' ? result : result.affectedRows;
  if (affected === 0) throw new LeaseLostError(lease);
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,50}$/;

function jitter(ms: number, low: number, high: number): number {
  return Math.max(1, Math.round(ms * (low + Math.random() * (high - low))));
}

/**
 * The lease queue of one work table (DESIGN §3), written once for agent runs and workflow steps:
 * claim, renew and sweep through the table's SECURITY DEFINER functions (ids and tokens only, no
 * entity hydration), NOTIFY as the wake-up, polling as the safety net.
 */
export class LeaseQueue {
  private readonly claimSql: string;
  private readonly renewSql: string;
  private readonly sweepSql: string;

  constructor(readonly options: LeaseQueueOptions) {
    if (!IDENTIFIER.test(options.prefix)) throw new Error(`Invalid lease-queue prefix: ${options.prefix}`);
    if (!Number.isInteger(options.leaseSeconds) || options.leaseSeconds <= 0) throw new Error('leaseSeconds must be a positive integer');
    if (options.renewEveryMs >= options.leaseSeconds * 1000) throw new Error('renewEveryMs must be shorter than the lease');
    this.claimSql = `select tenant_id, id, lease_token from ${options.prefix}_claim(?, ?, ?)`;
    this.renewSql = `select lease_token from ${options.prefix}_renew(?::uuid[], ?)`;
    this.sweepSql = `select tenant_id, id from ${options.prefix}_sweep()`;
  }

  /** Claims up to `limit` ready rows for `owner`. */
  async claim(owner: string, limit: number): Promise<Lease[]> {
    if (limit <= 0) return [];
    const rows = await callDefiner<{ tenant_id: string; id: string; lease_token: string }>(this.options.orm, this.claimSql, [
      owner,
      Math.floor(limit),
      this.options.leaseSeconds,
    ]);
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id, token: r.lease_token }));
  }

  /** Extends held leases; returns the tokens that are NOT held any more (lost: swept, cancelled, finished elsewhere). */
  async renew(tokens: string[]): Promise<string[]> {
    if (tokens.length === 0) return [];
    const valid = tokens.filter(isUuid);
    // Tokens are uuids, so the array literal needs no quoting; anything else is simply not held.
    const rows = valid.length
      ? await callDefiner<{ lease_token: string }>(this.options.orm, this.renewSql, [`{${valid.join(',')}}`, this.options.leaseSeconds])
      : [];
    const kept = new Set(rows.map((r) => r.lease_token.toLowerCase()));
    return tokens.filter((t) => !kept.has(t.toLowerCase()));
  }

  /** Returns expired leases to the queue; returns the released ids. */
  async sweep(): Promise<{ tenantId: string; id: string }[]> {
    const rows = await callDefiner<{ tenant_id: string; id: string }>(this.options.orm, this.sweepSql, []);
    return rows.map((r) => ({ tenantId: r.tenant_id, id: r.id }));
  }

  /**
   * Wakes idle consumers of this queue in every process: NOTIFY with an id-only payload. Call it
   * in the same transaction as the insert (pass that EntityManager), so it is sent on commit.
   */
  static async notify(em: EntityManager, channel: string, id: string): Promise<void> {
    await em.execute('select pg_notify(?, ?)', [channel, id]);
  }

  /** Runs a consumer; see ConsumeOptions and Consumer. */
  consume(options: ConsumeOptions): Consumer {
    return new LeaseConsumer(this, options);
  }

  /** NOTIFY outside any transaction (after a sweep released rows). */
  async notifyNow(id: string): Promise<void> {
    await this.options.orm.em.fork().execute('select pg_notify(?, ?)', [this.options.channel, id]);
  }
}

type Held = {
  lease: Lease;
  controller: AbortController;
  /** Local clock: when the lease runs out if no renewal succeeds before. */
  expiresAt: number;
  lost: boolean;
  done: Promise<void>;
};

class LeaseConsumer implements Consumer {
  private readonly held = new Map<string, Held>();
  private readonly q: LeaseQueueOptions;
  private claiming: Promise<void> | null = null;
  private claimAgain = false;
  /** There may be ready rows we did not take (no free slots, or the last claim came back full). */
  private backlog = false;
  private renewing: Promise<void> | null = null;
  private sweeping: Promise<void> | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private stopRequested = false;
  /** Set once stop() has nothing left to wait for: the renew timer is not re-armed. */
  private closed = false;
  private stopping: Promise<void> | null = null;
  private readonly removeReconnectHook: () => void;
  private readonly readyPromise: Promise<void>;
  private readonly onNotify = (): void => this.nudge();

  constructor(
    private readonly queue: LeaseQueue,
    private readonly c: ConsumeOptions,
  ) {
    this.q = queue.options;
    // Notifications sent while the LISTEN connection was down are lost: look again.
    this.removeReconnectHook = this.q.listener.onReconnect(() => this.nudge());
    // The first claim comes after the LISTEN, so a row enqueued in between is not left to the poll.
    // (Also never synchronously inside consume(): wanted() may refer to the returned consumer.)
    this.readyPromise = this.q.listener
      .listen(this.q.channel, this.onNotify)
      .catch(this.q.onError)
      .then(() => {
        this.nudge();
        return this.claiming ?? undefined;
      });
    this.schedulePoll();
    this.scheduleSweep();
    this.scheduleRenew();
  }

  nudge(): void {
    if (this.stopRequested) return;
    this.claimAgain = true;
    if (!this.claiming) this.claiming = this.claimLoop();
  }

  heldLeases(): number {
    return this.held.size;
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  stop(options?: { graceMs: number }): Promise<void> {
    this.stopping ??= this.shutdown(options?.graceMs ?? 0);
    return this.stopping;
  }

  // ---- claiming ----

  /** Claims while someone asked for it; a wake during a claim is never lost (claimAgain). */
  private async claimLoop(): Promise<void> {
    try {
      while (this.claimAgain && !this.stopRequested) {
        this.claimAgain = false;
        await this.claimOnce();
      }
    } finally {
      this.claiming = null;
    }
  }

  private async claimOnce(): Promise<void> {
    try {
      const want = Math.floor(this.c.wanted());
      if (!(want > 0)) {
        this.backlog = true;
        return;
      }
      const startedAt = Date.now();
      const leases = await this.queue.claim(this.c.owner, want);
      for (const lease of leases) this.start(lease, startedAt);
      this.backlog = leases.length >= want;
    } catch (err) {
      this.q.onError(err);
    }
  }

  private start(lease: Lease, claimedAt: number): void {
    const controller = new AbortController();
    const held: Held = { lease, controller, expiresAt: claimedAt + this.q.leaseSeconds * 1000, lost: false, done: Promise.resolve() };
    this.held.set(lease.token, held);
    let work: Promise<void>;
    try {
      work = Promise.resolve(this.c.handle(lease, controller.signal));
    } catch (err) {
      work = Promise.reject(err);
    }
    held.done = work
      .then(
        () => undefined,
        (err) => {
          if (!(controller.signal.aborted && err === controller.signal.reason)) this.q.onError(err);
        },
      )
      .finally(() => {
        this.held.delete(lease.token);
        // A slot is free and rows may be waiting: take them now rather than at the next poll.
        if (this.backlog) this.nudge();
      });
  }

  // ---- renewing ----

  private renewTick(): Promise<void> {
    if (this.renewing) return this.renewing;
    const now = Date.now();
    for (const h of this.held.values()) {
      // No renewal got through in time (database unreachable): someone else may hold it now.
      if (!h.lost && h.expiresAt <= now) this.lose(h);
    }
    const live = [...this.held.values()].filter((h) => !h.lost);
    if (live.length === 0) return Promise.resolve();
    this.renewing = (async () => {
      const startedAt = Date.now();
      try {
        const lost = new Set(await this.queue.renew(live.map((h) => h.lease.token)));
        for (const h of live) {
          if (lost.has(h.lease.token)) this.lose(h);
          else h.expiresAt = startedAt + this.q.leaseSeconds * 1000;
        }
      } catch (err) {
        this.q.onError(err);
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }

  private lose(h: Held): void {
    if (h.lost) return;
    h.lost = true;
    h.controller.abort(new LeaseLostError(h.lease));
  }

  // ---- timers ----

  private schedulePoll(): void {
    if (this.stopRequested) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.nudge();
      this.schedulePoll();
    }, jitter(this.q.pollEveryMs, 0.5, 1.5));
    this.pollTimer.unref();
  }

  private scheduleSweep(): void {
    if (this.stopRequested) return;
    this.sweepTimer = setTimeout(() => {
      this.sweepTimer = null;
      this.sweeping = this.sweepOnce().finally(() => {
        this.sweeping = null;
        this.scheduleSweep();
      });
    }, jitter(this.q.sweepEveryMs, 0.5, 1.5));
    this.sweepTimer.unref();
  }

  private async sweepOnce(): Promise<void> {
    try {
      const released = await this.queue.sweep();
      if (released.length === 0 || this.stopRequested) return;
      this.nudge();
      // Idle consumers elsewhere learn of the released rows too.
      await this.queue.notifyNow(released[0]!.id);
    } catch (err) {
      this.q.onError(err);
    }
  }

  private scheduleRenew(): void {
    // Renewals go on during stop(): the grace period is for finishing under a valid lease.
    if (this.closed) return;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = null;
      void this.renewTick().finally(() => this.scheduleRenew());
    }, jitter(this.q.renewEveryMs, 0.8, 1));
    this.renewTimer.unref();
  }

  // ---- stopping ----

  private async shutdown(graceMs: number): Promise<void> {
    this.stopRequested = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    if (this.sweepTimer) clearTimeout(this.sweepTimer);
    this.pollTimer = this.sweepTimer = null;
    this.removeReconnectHook();
    await this.q.listener.unlisten(this.q.channel, this.onNotify).catch(this.q.onError);
    // A claim in flight may still hand out leases; they get the same grace.
    await this.claiming;
    await this.sweeping;
    if (this.held.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([this.allDone(), graceOver]);
      clearTimeout(timer);
    }
    for (const h of this.held.values()) if (!h.controller.signal.aborted) h.controller.abort(new ShutdownError());
    await this.allDone();
    this.closed = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = null;
    await this.renewing;
  }

  private allDone(): Promise<void> {
    return Promise.all([...this.held.values()].map((h) => h.done)).then(() => undefined);
  }
}
