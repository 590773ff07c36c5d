/**
 * A short-lived cache that also collapses concurrent misses: while one computation for a key is
 * running, every caller for that key awaits it. So a burst of identical requests costs one upstream query.
 */
export class ShortCache<T> {
  private readonly entries = new Map<string, { expires: number; value: Promise<T> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 1000,
  ) {}

  get(key: string, compute: () => Promise<T>): Promise<T> {
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && hit.expires > now) return hit.value;
    if (this.entries.size >= this.maxEntries) this.evictExpired(now);
    const value = compute();
    const entry = { expires: Infinity, value };
    this.entries.set(key, entry);
    // The TTL runs from the answer, not the question; failures are not cached.
    value.then(
      () => (entry.expires = performance.now() + this.ttlMs),
      () => this.entries.get(key) === entry && this.entries.delete(key),
    );
    return value;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expires <= now) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
  }
}
