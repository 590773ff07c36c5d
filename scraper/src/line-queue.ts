/**
 * The FIFO a sink sends from: lines (carbon plaintext or InfluxDB line protocol) wait here until the
 * store has taken them. Lines are handed out (`take`) and stay queued until `accepted` or `rewind`,
 * so a failed write loses nothing and keeps the order.
 */
export interface LineQueue {
  /** One cycle's lines, after those already queued. Returns once they are held (the spool: on disk). */
  push(lines: readonly string[]): void;
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
  /** Releases files; what is still queued stays there for the next start (the spool) or is lost (memory). */
  close(): void;
}

/** What a queue reports: points given up on (bound reached) and how many wait. */
export interface QueueEvents {
  dropped(points: number): void;
}

/** Today's behaviour without SCRAPER_SPOOL_DIR: in memory, bounded by line count, oldest unsent lines dropped. */
export function createMemoryQueue(maxLines: number, events: QueueEvents): LineQueue {
  let lines: string[] = [];
  let handedOut = 0; // lines[0..handedOut) are in flight
  return {
    push(more) {
      lines = lines.concat(more);
      const excess = lines.length - maxLines;
      if (excess > 0) {
        // In-flight lines are settled by their write; the oldest of the rest go.
        const dropped = Math.min(excess, lines.length - handedOut);
        lines.splice(handedOut, dropped);
        events.dropped(dropped);
      }
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
    close() {},
  };
}
