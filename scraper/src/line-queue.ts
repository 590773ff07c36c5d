import type { Logger } from '../../lib/log';

/**
 * The FIFO a sink sends from: lines (carbon plaintext or InfluxDB line protocol) wait here until the
 * store has taken them. Lines are handed out (`take`) and stay queued until `accepted` or `rewind`,
 * so a failed write loses nothing and keeps the order.
 */
export interface LineQueue {
  /**
   * One cycle's lines, after those already queued. Returns once they are held (the spool: on disk):
   * true; false when the queue refused them (the spool's disk is full), counted by the queue.
   */
  push(lines: readonly string[]): boolean;
  /** Up to `max` lines not handed out yet, oldest first. */
  take(max: number): string[];
  /** The oldest `count` handed-out lines reached the store. */
  accepted(count: number): void;
  /** Every handed-out line not yet accepted is handed out again, in the same order. */
  rewind(): void;
  /** Lines waiting, handed out or not. */
  readonly length: number;
  /** Lines not handed out yet. */
  readonly unsent: number;
  /** Why the queue cannot take lines right now (a full disk), or null. */
  problem(): string | null;
  /** Releases files; what is still queued stays there for the next start (the spool) or is lost (memory). */
  close(): void;
}

/** What a queue reports: points given up on (bound reached) and how many wait. */
export interface QueueEvents {
  dropped(points: number): void;
}

/**
 * Without SCRAPER_SPOOL_DIR: in memory, at most `maxLines` lines waiting to be sent, oldest dropped.
 * Lines handed out do not count: a write in flight (InfluxDB) or lines carbon may still lose
 * (held for GRAPHITE_RESEND_SECONDS) are settled by the store, and count again if it fails.
 */
export function createMemoryQueue(maxLines: number, events: QueueEvents): LineQueue {
  let lines: string[] = [];
  let handedOut = 0; // lines[0..handedOut) are in flight
  return {
    push(more) {
      lines = lines.concat(more);
      const excess = lines.length - handedOut - maxLines;
      if (excess > 0) {
        lines.splice(handedOut, excess);
        events.dropped(excess);
      }
      return true;
    },
    take(max) {
      const batch = lines.slice(handedOut, handedOut + max);
      handedOut += batch.length;
      return batch;
    },
    accepted(count) {
      const n = Math.min(count, handedOut);
      lines.splice(0, n);
      handedOut -= n;
    },
    rewind() {
      handedOut = 0;
    },
    get length() {
      return lines.length;
    },
    get unsent() {
      return lines.length - handedOut;
    },
    problem: () => null,
    close() {},
  };
}

/**
 * `queue.push` for a sink, which promises never to throw. The queue answers what it refuses (the
 * spool: the file system's errors); anything it throws besides is logged and the lines counted as
 * dropped, so one sink's failure never keeps a cycle from the other sinks.
 */
export function offerLines(queue: LineQueue, lines: readonly string[], dropped: (points: number) => void, log: Logger, store: string): boolean {
  if (lines.length === 0) return true;
  try {
    return queue.push(lines);
  } catch (err) {
    dropped(lines.length);
    log.error({ err: err instanceof Error ? err.message : String(err), lines: lines.length }, `${store} queue failed; points dropped`);
    return false;
  }
}
