/** Why a poll failed; the `reason` label of moex_poll_errors_total (`auth`: ISS refused the token, 401/403). */
export type PollFailureReason = 'timeout' | 'network' | 'http' | 'parse' | 'validation' | 'auth';

export const POLL_FAILURE_REASONS: readonly PollFailureReason[] = ['timeout', 'network', 'http', 'parse', 'validation', 'auth'];

export class PollError extends Error {
  constructor(
    readonly reason: PollFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'PollError';
  }
}
