import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';

/**
 * Fan-out of small messages between processes, published after the transaction that caused
 * them has committed. PostgreSQL stays the source of truth: a lost message may delay a
 * subscriber, never lose data.
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

/** Single-process mode only: nothing crosses a process boundary. */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  private readonly emitter = new EventEmitter().setMaxListeners(0);

  async publish(channel: string, message: unknown): Promise<void> {
    // Round-trip through JSON so subscribers never share objects with the publisher.
    const copy = JSON.parse(JSON.stringify(message));
    queueMicrotask(() => this.emitter.emit(channel, copy));
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    this.emitter.on(channel, handler);
    return async () => {
      this.emitter.off(channel, handler);
    };
  }

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.emitter.removeAllListeners();
  }
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, Set<(message: unknown) => void>>();

  constructor(url: string, private readonly onError: (err: Error) => void = () => {}) {
    const options = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false };
    this.publisher = new Redis(url, options);
    this.subscriber = new Redis(url, options);
    this.publisher.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('message', (raw: string, payload: string) => {
      const set = this.handlers.get(raw.slice(PREFIX.length));
      if (!set) return;
      let message: unknown;
      try {
        message = JSON.parse(payload);
      } catch {
        this.onError(new Error(`Dropped a malformed bus message on ${raw}`));
        return;
      }
      for (const handler of set) handler(message);
    });
  }

  async publish(channel: string, message: unknown): Promise<void> {
    await this.publisher.publish(PREFIX + channel, JSON.stringify(message));
  }

  async subscribe(channel: string, handler: (message: unknown) => void): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
      await this.subscriber.subscribe(PREFIX + channel);
    }
    set.add(handler);
    return async () => {
      const current = this.handlers.get(channel);
      if (!current) return;
      current.delete(handler);
      if (current.size === 0) {
        this.handlers.delete(channel);
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
    this.handlers.clear();
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}

export function createBus(redisUrl: string | undefined, onError?: (err: Error) => void): Bus {
  return redisUrl ? new RedisBus(redisUrl, onError) : new InProcessBus();
}
