/**
 * Why a poll failed; the `reason` label of moex_poll_errors_total. `auth`: ISS refused the token
 * (401/403). `entitlement`: ISS answered 200 with something other than the data asked for (an HTML
 * page, or JSON without any requested block), as it does for a request the login may not read.
 */
export type PollFailureReason = 'timeout' | 'network' | 'http' | 'parse' | 'validation' | 'auth' | 'entitlement';

export const POLL_FAILURE_REASONS: readonly PollFailureReason[] = ['timeout', 'network', 'http', 'parse', 'validation', 'auth', 'entitlement'];

export class PollError extends Error {
  constructor(
    readonly reason: PollFailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'PollError';
  }
}
