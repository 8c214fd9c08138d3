import pg from 'pg';

export type NotificationHandler = (payload: string) => void | Promise<void>;

export type PgListenerOptions = {
  /** The application's connection string (the app role; LISTEN needs no privilege). */
  url: string;
  /** Every error (connect, LISTEN, a handler that throws) lands here; none crashes the process. */
  onError: (err: unknown) => void;
  /** Called after every reconnect; also see `onReconnect()` for hooks added later. */
  onReconnect?: () => void;
  applicationName?: string;
  /** First wait before reconnecting; doubles per failed attempt up to maxBackoffMs. Default 100. */
  minBackoffMs?: number;
  /** Default 5000. */
  maxBackoffMs?: number;
  /** An idle LISTEN connection can die silently (NAT, half-open TCP): probe it this often. Default 30000; 0 = never. */
  healthCheckMs?: number;
  /** Default 5000. */
  connectTimeoutMs?: number;
};

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The process's one LISTEN connection (DESIGN §3): a dedicated `pg.Client`, never a pooled
 * connection, because a LISTEN belongs to a session and a pool hands sessions around.
 *
 * - `listen(channel, handler)` registers a handler (several per channel are fine) and issues the
 *   LISTEN if connected; `unlisten` removes it and issues UNLISTEN when the channel's last handler
 *   goes.
 * - When the connection drops (server restart, `pg_terminate_backend`, failed health probe) it
 *   reconnects with capped exponential backoff (jittered), re-issues every LISTEN and then calls
 *   the reconnect hooks: notifications sent while disconnected are lost, so consumers poll then.
 * - Connecting, LISTEN and UNLISTEN run one at a time (a small queue), so a `listen` racing a
 *   reconnect is never lost: either the reconnect sees the channel or the `listen` runs after it.
 */
export class PgListener {
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private client: pg.Client | null = null;
  private serial: Promise<unknown> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private healthTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private everConnected = false;
  private started = false;
  private stopped = false;

  constructor(private readonly options: PgListenerOptions) {}

  /** True while a live connection holds the LISTENs. */
  get connected(): boolean {
    return this.client !== null;
  }

  /** Channels with at least one handler. */
  channels(): string[] {
    return [...this.handlers.keys()];
  }

  /**
   * Connects. Resolves after the first attempt: on failure the error goes to onError and the
   * listener keeps retrying in the background (consumers poll meanwhile); it never rejects.
   */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.stopped = false;
    await this.connect();
  }

  /** Closes the connection and cancels retries and probes; forgets every handler and hook. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.clearTimers();
    await this.serial.catch(() => undefined);
    const client = this.client;
    this.client = null;
    if (client) await this.discard(client);
    this.handlers.clear();
    this.reconnectHooks.clear();
    this.started = false;
    this.everConnected = false;
    this.attempt = 0;
  }

  /** Adds a handler; resolves once the LISTEN is in place (or registered for the next connection). */
  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    const first = set.size === 0;
    set.add(handler);
    if (!first) return;
    await this.run(async () => {
      // Still wanted when our turn comes?
      if (!this.handlers.get(channel)?.size) return;
      await this.client?.query(`listen ${quoteIdent(channel)}`);
    });
  }

  /** Removes one handler, or every handler of the channel when none is given. */
  async unlisten(channel: string, handler?: NotificationHandler): Promise<void> {
    const set = this.handlers.get(channel);
    if (!set) return;
    if (handler) set.delete(handler);
    else set.clear();
    if (set.size > 0) return;
    this.handlers.delete(channel);
    await this.run(async () => {
      if (this.handlers.get(channel)?.size) return;
      await this.client?.query(`unlisten ${quoteIdent(channel)}`);
    });
  }

  /** Adds a hook called after every reconnect; returns its removal. */
  onReconnect(hook: () => void): () => void {
    this.reconnectHooks.add(hook);
    return () => this.reconnectHooks.delete(hook);
  }

  /** Runs one connection-changing step after the previous ones; errors go to onError. */
  private run(step: () => Promise<void>): Promise<void> {
    const next = this.serial.then(step).catch((err) => {
      this.options.onError(err);
    });
    this.serial = next;
    return next;
  }

  private connect(): Promise<void> {
    return this.run(async () => {
      if (this.stopped || this.client) return;
      const client = new pg.Client({
        connectionString: this.options.url,
        application_name: this.options.applicationName ?? 'runlane-listener',
        keepAlive: true,
        connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5_000,
      });
      // Until it is ours, an error only fails this attempt.
      client.on('error', () => undefined);
      try {
        await client.connect();
        const channels = [...this.handlers.keys()];
        if (channels.length > 0) await client.query(channels.map((c) => `listen ${quoteIdent(c)}`).join('; '));
      } catch (err) {
        void this.discard(client);
        this.scheduleReconnect();
        throw err;
      }
      if (this.stopped) {
        await this.discard(client);
        return;
      }
      client.removeAllListeners('error');
      client.on('error', (err) => this.lost(client, err));
      client.on('end', () => this.lost(client, new Error('LISTEN connection ended')));
      client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
      this.client = client;
      this.attempt = 0;
      this.scheduleHealthCheck();
      const reconnected = this.everConnected;
      this.everConnected = true;
      // Any connection but the very first may have missed notifications.
      if (reconnected) {
        if (this.options.onReconnect) this.safely(this.options.onReconnect);
        for (const hook of [...this.reconnectHooks]) this.safely(hook);
      }
    });
  }

  private lost(client: pg.Client, err: unknown): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.healthTimer = null;
    void this.discard(client);
    if (this.stopped) return;
    this.options.onError(err);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.retryTimer) return;
    const min = this.options.minBackoffMs ?? 100;
    const max = this.options.maxBackoffMs ?? 5_000;
    const ceiling = Math.min(max, min * 2 ** this.attempt);
    this.attempt++;
    // Equal jitter: half fixed, half random, so a restarted server is not hit by every process at once.
    const wait = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.connect();
    }, wait);
  }

  private scheduleHealthCheck(): void {
    const every = this.options.healthCheckMs ?? 30_000;
    if (every <= 0 || this.stopped) return;
    this.healthTimer = setTimeout(() => {
      this.healthTimer = null;
      const client = this.client;
      if (!client) return;
      client.query('select 1').then(
        () => {
          if (this.client === client) this.scheduleHealthCheck();
        },
        (err) => this.lost(client, err),
      );
    }, every);
    this.healthTimer.unref();
  }

  private dispatch(channel: string, payload: string): void {
    const set = this.handlers.get(channel);
    if (!set) return;
    for (const handler of [...set]) {
      try {
        const result = handler(payload);
        if (result && typeof result.then === 'function') result.then(undefined, (err) => this.options.onError(err));
      } catch (err) {
        this.options.onError(err);
      }
    }
  }

  private safely(hook: () => void): void {
    try {
      hook();
    } catch (err) {
      this.options.onError(err);
    }
  }

  private async discard(client: pg.Client): Promise<void> {
    client.removeAllListeners('notification');
    client.removeAllListeners('end');
    client.removeAllListeners('error');
    client.on('error', () => undefined);
    await client.end().catch(() => undefined);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.healthTimer) clearTimeout(this.healthTimer);
    this.retryTimer = null;
    this.healthTimer = null;
  }
}
