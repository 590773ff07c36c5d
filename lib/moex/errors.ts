/** Why a poll failed; the `reason` label of moex_poll_errors_total. */
export type PollFailureReason = 'timeout' | 'network' | 'http' | 'parse' | 'validation';

export const POLL_FAILURE_REASONS: readonly PollFailureReason[] = ['timeout', 'network', 'http', 'parse', 'validation'];

export class PollError extends Error {
  constructor(
    readonly reason: PollFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'PollError';
  }
}
