import { DomainError, NotFoundError } from '../../db/errors';
import type { Orm } from '../../db/orm';
import { inTenantSql } from '../../db/tenant-transaction';
import type { Bus } from '../../platform/bus';
import type { AgentRun } from '../runs/agent-run.entity';
import { runChannel, type RunChanged } from '../runs/run-channels';
import type { RunService } from '../runs/run.service';
import { logCursor, MAX_LOG_PAGE, readLogLinesIn, type LogLine, type LogStream } from './log-lines';

const ENDED = new Set(['succeeded', 'failed', 'cancelled']);

/** A subscriber that fell too far behind: closed with where to resume, so writers never wait. */
export class SlowSubscriberError extends DomainError {
  readonly code = 'SUBSCRIBER_TOO_SLOW';
  constructor(readonly cursor: string) {
    super(`The subscriber fell too far behind and was closed; subscribe again with after: "${cursor}" to resume.`);
    this.name = 'SlowSubscriberError';
  }
}

/**
 * Bus messages of one run for one subscriber, bounded: the bus handler only pushes (a slow
 * subscriber never delays the bus or the others); past `limit` buffered lines it stops keeping
 * them and the reader learns it has fallen behind.
 */
class Inbox {
  private readonly messages: RunChanged[] = [];
  private buffered = 0;
  private wake: (() => void) | null = null;
  overflowed = false;

  constructor(private readonly limit: number) {}

  push(message: RunChanged): void {
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
  async take(): Promise<RunChanged[]> {
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

/**
 * Live views of runs (issue 7): a run's log lines and its state, each delivered gap-free and
 * without repeats whatever the timing. The order of operations is the guarantee: attach to the
 * bus first, then read PostgreSQL (the source of truth) after the cursor, then tail the bus,
 * skipping every seq already sent and reading any gap back from PostgreSQL.
 */
export class RunStreamService {
  constructor(private readonly deps: { orm: Orm; bus: Bus; runs: RunService; maxBufferedLines: number }) {}

  /** The log after `afterSeq`: the backlog, then live lines; ends once the run has ended and all its lines are sent. */
  async *logs(tenantId: string, runId: string, afterSeq: number): AsyncGenerator<LogLine> {
    const inbox = new Inbox(this.deps.maxBufferedLines);
    const detach = await this.deps.bus.subscribe(runChannel(runId), (m) => inbox.push(m as RunChanged));
    try {
      const run = await this.deps.runs.find(tenantId, runId);
      if (!run) throw new NotFoundError('Run');
      const position = { last: afterSeq };
      let ended = ENDED.has(run.status);
      yield* this.readAfter(tenantId, runId, position);
      while (!ended) {
        const messages = await inbox.take();
        if (inbox.overflowed) throw new SlowSubscriberError(logCursor(position.last));
        for (const message of messages) {
          const lines = message.lines ?? [];
          if (lines.length && lines[0]!.seq <= position.last + 1) {
            for (const l of lines) {
              if (l.seq <= position.last) continue;
              position.last = l.seq;
              yield { seq: l.seq, ts: new Date(l.ts), step: l.step, stream: l.stream as LogStream, line: l.line };
            }
          } else if ((message.logSeq ?? 0) > position.last) {
            // Lines this subscriber has not seen and the message did not carry: the gap, from PostgreSQL.
            yield* this.readAfter(tenantId, runId, position);
          }
          if (ENDED.has(message.status)) ended = true;
        }
      }
      // Whatever committed before the run ended and was not announced in time.
      yield* this.readAfter(tenantId, runId, position);
    } finally {
      await detach();
    }
  }

  /** Every stored line after `position.last`, page by page, advancing it. */
  private async *readAfter(tenantId: string, runId: string, position: { last: number }): AsyncGenerator<LogLine> {
    for (;;) {
      const page = await inTenantSql(this.deps.orm, tenantId, (sql) => readLogLinesIn(sql, 'run', runId, position.last, MAX_LOG_PAGE));
      for (const line of page) {
        position.last = line.seq;
        yield line;
      }
      if (page.length < MAX_LOG_PAGE) return;
    }
  }

  /** The run now, then again after every change; ends with its final state. */
  async *updates(tenantId: string, runId: string): AsyncGenerator<AgentRun> {
    const changed = new ChangeSignal();
    const detach = await this.deps.bus.subscribe(runChannel(runId), () => changed.raise());
    try {
      for (;;) {
        const run = await this.deps.runs.find(tenantId, runId);
        if (!run) throw new NotFoundError('Run');
        yield run;
        if (ENDED.has(run.status)) return;
        await changed.wait();
      }
    } finally {
      await detach();
    }
  }
}
