/**
 * Logging of something that fails and recovers (a poll, a connection, a store) once per change,
 * not once per attempt: a store that is down for an hour must not write a line every second, yet a
 * new kind of failure, and the recovery, must each be seen. Every attempt is still counted by the
 * caller's metrics; this is only what the log says.
 */
export interface ChangeLog {
  /**
   * A failure, `failure` summing it up (compared with the last one: a message, an error code):
   * logged with `fields` when it differs from the last failure logged, and not again until it changes.
   */
  failed(failure: string, fields?: Record<string, unknown>): void;
  /** A success: after a failure, the recovery message is logged (once), when there is one. */
  recovered(fields?: Record<string, unknown>): void;
  /** Forgets the failure without a word: the next failure is logged whatever it is. */
  clear(): void;
  /** The failure being reported, null while it works. */
  readonly failure: string | null;
}

/** Where the lines go (pino's Logger fits, and so does the poll's own log interface). */
export interface ChangeLogTarget {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ChangeLogMessages {
  /** The message of a failure's line. */
  failed: string;
  /** The message of the recovery's line; none: a recovery is not logged. */
  recovered?: string;
}

/** A failure's line is at warn, the recovery's at info. */
export function logOnChange(log: ChangeLogTarget, { failed, recovered }: ChangeLogMessages): ChangeLog {
  let last: string | null = null;
  return {
    failed(failure, fields = {}) {
      if (failure !== last) log.warn(fields, failed);
      last = failure;
    },
    recovered(fields = {}) {
      if (last !== null && recovered !== undefined) log.info(fields, recovered);
      last = null;
    },
    clear() {
      last = null;
    },
    get failure() {
      return last;
    },
  };
}
