import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * Fan-out of small messages between processes, published after the transaction that caused
 * them has committed. PostgreSQL stays the source of truth: a lost message may delay a
 * subscriber, never lose data.
 *
 * Subscribers in the publishing process receive the message before publish() returns, so a
 * process always sees its own changes at once (a rotated token is dead here before the
 * mutation answers); other processes receive it through Redis.
 */
export interface Bus {
  readonly kind: 'redis' | 'in-process';
  publish(channel: string, message: unknown): Promise<void>;
  /** Resolves once the subscription is attached, so nothing published afterwards is missed. */
  subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

const PREFIX = 'runlane:';

type Handler = (message: unknown) => void;

/** Local subscribers of one process, each handler isolated from the others' failures. */
class LocalHandlers {
  private readonly byChannel = new Map<string, Set<Handler>>();

  constructor(private readonly onError: (err: Error) => void) {}

  /** True when this is the channel's first handler. */
  add(channel: string, handler: Handler): boolean {
    let set = this.byChannel.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.byChannel.set(channel, set);
    }
    set.add(handler);
    return first;
  }

  /** True when the channel has no handler left. */
  remove(channel: string, handler: Handler): boolean {
    const set = this.byChannel.get(channel);
    if (!set) return false;
    set.delete(handler);
    if (set.size > 0) return false;
    this.byChannel.delete(channel);
    return true;
  }

  /**
   * Each handler gets a copy, so subscribers never share objects with the publisher or each
   * other. A message `fresh` from the wire belongs to no one yet: its first handler takes it as is.
   */
  deliver(channel: string, message: unknown, fresh = false): void {
    let owned = fresh;
    for (const handler of this.byChannel.get(channel) ?? []) {
      const takeAsIs = owned;
      owned = false;
      try {
        handler(takeAsIs ? message : structuredClone(message));
      } catch (err) {
        this.onError(err as Error);
      }
    }
  }

  clear(): void {
    this.byChannel.clear();
  }
}

/** Single-process mode only: nothing crosses a process boundary. */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  private readonly local: LocalHandlers;

  constructor(onError: (err: Error) => void = () => {}) {
    this.local = new LocalHandlers(onError);
  }

  async publish(channel: string, message: unknown): Promise<void> {
    this.local.deliver(channel, message);
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    this.local.add(channel, handler);
    return async () => {
      this.local.remove(channel, handler);
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.local.clear();
  }
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly local: LocalHandlers;
  /** Marks this process's messages, which its subscribers already had at publish time. */
  private readonly origin = randomUUID();
  /** Redis SUBSCRIBE of each channel, awaited by every subscriber of it. */
  private readonly attached = new Map<string, Promise<unknown>>();

  constructor(url: string, private readonly onError: (err: Error) => void = () => {}) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: true };
    this.local = new LocalHandlers(onError);
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.publisher.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('message', (raw: string, payload: string) => {
      let envelope: { o?: string; m?: unknown };
      try {
        envelope = JSON.parse(payload);
      } catch {
        this.onError(new Error(`Dropped a malformed bus message on ${raw}`));
        return;
      }
      if (envelope.o === this.origin) return;
      this.local.deliver(raw.slice(PREFIX.length), envelope.m, true);
    });
  }

  async publish(channel: string, message: unknown): Promise<void> {
    this.local.deliver(channel, message);
    await this.publisher.publish(PREFIX + channel, JSON.stringify({ o: this.origin, m: message }));
  }

  async subscribe(channel: string, handler: Handler): Promise<() => Promise<void>> {
    if (this.local.add(channel, handler)) this.attached.set(channel, this.subscriber.subscribe(PREFIX + channel));
    await this.attached.get(channel);
    return async () => {
      if (this.local.remove(channel, handler)) {
        this.attached.delete(channel);
        await this.subscriber.unsubscribe(PREFIX + channel);
      }
    };
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.publisher.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.local.clear();
    this.attached.clear();
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}

export function createBus(redisUrl: string | undefined, onError?: (err: Error) => void): Bus {
  return redisUrl ? new RedisBus(redisUrl, onError) : new InProcessBus(onError);
}
