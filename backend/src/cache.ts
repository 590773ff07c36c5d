/**
 * A short-lived cache that also collapses concurrent misses: while one computation for a key is
 * running, every caller for that key awaits it. So a burst of identical requests costs one upstream query.
 *
 * Refresh-ahead: a hit in the second half of its TTL starts the next computation in the background
 * while callers keep getting the current value. If that computation outlives the TTL, callers still
 * get the current value for one more TTL (then they await it): under steady traffic a crowd never
 * waits for the upstream. Without this, every TTL all concurrent requests stalled for one upstream
 * round trip (bench/backend-api.ts: p99 ~1 s at 64 clients). Idle, an expired entry is computed
 * anew and awaited, as before; a value is never served more than two TTLs after its answer.
 */
interface Entry<T> {
  expires: number;
  refreshAt: number;
  value: Promise<T>;
  /** The background computation started by refresh-ahead, while it runs. */
  next?: Promise<T>;
}

export class ShortCache<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) {
      if (!hit.next && now >= hit.refreshAt) this.refreshAhead(key, hit, compute);
      return hit.value;
    }
    if (hit?.next) return now < hit.expires + this.ttlMs ? hit.value : hit.next;
    if (this.entries.size >= this.maxEntries) this.evictExpired(now);
    const value = compute();
    const entry: Entry<T> = { expires: Infinity, refreshAt: Infinity, value };
    this.entries.set(key, entry);
    // The TTL runs from the answer, not the question; failures are not cached.
    value.then(
      () => this.stamp(entry),
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return value;
  }

  private stamp(entry: Entry<T>): void {
    const answeredAt = performance.now();
    entry.expires = answeredAt + this.ttlMs;
    entry.refreshAt = answeredAt + this.ttlMs / 2;
  }

  private refreshAhead(key: string, current: Entry<T>, compute: () => Promise<T>): void {
    const next = compute();
    current.next = next;
    next.then(
      () => {
        const entry: Entry<T> = { expires: Infinity, refreshAt: Infinity, value: next };
        this.stamp(entry);
        if (this.entries.get(key) === current) this.entries.set(key, entry);
      },
      // A failed refresh leaves the current value until it expires; the next hit tries again.
      () => {
        current.next = undefined;
      },
    );
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expires <= now && !entry.next) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
  }
}
