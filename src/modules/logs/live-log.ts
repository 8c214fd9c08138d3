import { DomainError, NotFoundError } from '../../db/errors';
import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import type { Bus } from '../../platform/bus';
import type { PublishedLogLine } from '../runs/run-channels';
import { logCursor, MAX_LOG_PAGE, readLogLinesIn, type LogLine, type LogSource, type LogStream } from './log-lines';

/** A subscriber that fell too far behind: closed with where to resume, so writers never wait. */
export class SlowSubscriberError extends DomainError {
  readonly code = 'SUBSCRIBER_TOO_SLOW';
  constructor(readonly cursor: string) {
    super(`The subscriber fell too far behind and was closed; subscribe again with after: "${cursor}" to resume.`);
    this.name = 'SlowSubscriberError';
  }
}

/** What a run's or job's channel carries after each commit: its status, its last log seq, and (when small) the lines. */
export type SourceChanged = { status: string; logSeq?: number; lines?: PublishedLogLine[] };

/**
 * Bus messages of one source for one subscriber, bounded: the bus handler only pushes (a slow
 * subscriber never delays the bus or the others); past `limit` buffered lines it stops keeping
 * them and the reader learns it has fallen behind.
 */
class Inbox {
  private readonly messages: SourceChanged[] = [];
  private buffered = 0;
  private wake: (() => void) | null = null;
  overflowed = false;

  constructor(private readonly limit: number) {}

  push(message: SourceChanged): void {
    if (this.overflowed) return;
    this.buffered += Math.max(1, message.lines?.length ?? 0);
    if (this.buffered > this.limit) {
      this.overflowed = true;
      this.messages.length = 0;
    } else {
      this.messages.push(message);
    }
    this.wake?.();
  }

  /** Every message received since the last call, waiting for one if there is none. */
  async take(): Promise<SourceChanged[]> {
    while (this.messages.length === 0 && !this.overflowed) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = null;
    const taken = this.messages.splice(0);
    this.buffered = 0;
    return taken;
  }
}

/**
 * "Something changed, look again": however many changes arrive while the reader is busy, it
 * reads once, so nothing piles up behind a slow subscriber.
 */
class ChangeSignal {
  private raised = false;
  private wake: (() => void) | null = null;

  raise(): void {
    this.raised = true;
    this.wake?.();
  }

  async wait(): Promise<void> {
    while (!this.raised) await new Promise<void>((resolve) => (this.wake = resolve));
    this.raised = false;
    this.wake = null;
  }
}

/** One followed log: whose it is, where its changes are announced, and how to tell it has ended. */
export type LogSubject = {
  tenantId: string;
  source: LogSource;
  id: string;
  channel: string;
  /** The source's status now; null when it does not exist (for this tenant). */
  status: () => Promise<string | null>;
  ended: (status: string) => boolean;
  /** Only this step's lines (jobs); the cursor stays the source's seq. */
  step?: string | null;
};

/**
 * Live logs of runs and jobs (issue 7), gap-free and without repeats whatever the timing. The
 * order of operations is the guarantee: attach to the bus first, then read PostgreSQL (the source
 * of truth) after the cursor, then tail the bus, skipping every seq already sent and reading any
 * gap back from PostgreSQL.
 */
export class LiveLogs {
  constructor(private readonly deps: { orm: Orm; bus: Bus; maxBufferedLines: number }) {}

  /** The log after `afterSeq`: the backlog, then live lines; ends once the source has ended and all its lines are sent. */
  async *follow(subject: LogSubject, afterSeq: number): AsyncGenerator<LogLine> {
    const inbox = new Inbox(this.deps.maxBufferedLines);
    const detach = await this.deps.bus.subscribe(subject.channel, (m) => inbox.push(m as SourceChanged));
    const wanted = (l: { step: string }) => subject.step === undefined || subject.step === null || l.step === subject.step;
    try {
      const status = await subject.status();
      if (status === null) throw new NotFoundError(subject.source === 'run' ? 'Run' : 'Job');
      const position = { last: afterSeq };
      let ended = subject.ended(status);
      yield* this.readAfter(subject, position);
      while (!ended) {
        const messages = await inbox.take();
        if (inbox.overflowed) throw new SlowSubscriberError(logCursor(position.last));
        for (const message of messages) {
          const lines = message.lines ?? [];
          if (lines.length && lines[0]!.seq <= position.last + 1) {
            for (const l of lines) {
              if (l.seq <= position.last) continue;
              position.last = l.seq;
              if (wanted(l)) yield { seq: l.seq, ts: new Date(l.ts), step: l.step, stream: l.stream as LogStream, line: l.line };
            }
          } else if ((message.logSeq ?? 0) > position.last) {
            // Lines this subscriber has not seen and the message did not carry: the gap, from PostgreSQL.
            yield* this.readAfter(subject, position);
          }
          if (subject.ended(message.status)) ended = true;
        }
      }
      // Whatever committed before the source ended and was not announced in time.
      yield* this.readAfter(subject, position);
    } finally {
      await detach();
    }
  }

  /** Every stored line after `position.last`, page by page, advancing it. */
  private async *readAfter(subject: LogSubject, position: { last: number }): AsyncGenerator<LogLine> {
    for (;;) {
      const page = await inTenantSql(this.deps.orm, subject.tenantId, (sql) =>
        readLogLinesIn(sql, subject.source, subject.id, position.last, MAX_LOG_PAGE, subject.step ?? null),
      );
      for (const line of page) {
        position.last = line.seq;
        yield line;
      }
      if (page.length < MAX_LOG_PAGE) return;
    }
  }

  /** The source now (`read`), then again after every change; ends with its final state. */
  async *updates<T>(channel: string, read: () => Promise<T | null>, ended: (value: T) => boolean, missing: () => Error): AsyncGenerator<T> {
    const changed = new ChangeSignal();
    const detach = await this.deps.bus.subscribe(channel, () => changed.raise());
    try {
      for (;;) {
        const value = await read();
        if (value === null) throw missing();
        yield value;
        if (ended(value)) return;
        await changed.wait();
      }
    } finally {
      await detach();
    }
  }
}
