import type { IncomingMessage, ServerResponse } from 'node:http';
import { createGzip, gzipSync } from 'node:zlib';
import { Registry } from 'prom-client';

/**
 * One render, kept as bytes only: encoded once, not per scrape (a large string handed to res.end()
 * is encoded again each time), and no string copy of it stays in the heap. The parts are the cycle's
 * bytes (shared by every render until the next poll) and the live ones: never copied into one buffer,
 * so a live refresh allocates only the small live part and the gzip.
 */
interface Rendered {
  parts: Buffer[];
  length: number;
  gzipped?: Promise<Buffer>;
}

/**
 * Above this a render is gzipped at level 1, not 6: at 30,000 securities (87 MB) level 6 took 3-4 s
 * of CPU per cycle and level 1 about 1 s, for a body 15% larger (5.0 MB instead of 4.3 MB).
 */
const FAST_GZIP_ABOVE_BYTES = 1024 * 1024;

/**
 * Below this a render is gzipped in one synchronous call: for a 3-ticker render (~20 KB) a zlib
 * stream cost 0.7-1.0 ms of CPU (its setup and the hops to libuv's thread pool), gzipSync 0.2-0.3 ms.
 * Larger renders stream, so the event loop is not held for the whole compression.
 */
const SYNC_GZIP_BELOW_BYTES = 256 * 1024;

function gzipParts(parts: readonly Buffer[]): Promise<Buffer> {
  const length = parts.reduce((sum, part) => sum + part.length, 0);
  if (length < SYNC_GZIP_BELOW_BYTES) {
    try {
      return Promise.resolve(gzipSync(Buffer.concat(parts, length), { level: 6 }));
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const gz = createGzip({ level: length > FAST_GZIP_ABOVE_BYTES ? 1 : 6 });
    gz.on('data', (chunk: Buffer) => chunks.push(chunk));
    gz.on('end', () => resolve(Buffer.concat(chunks)));
    gz.on('error', reject);
    for (const part of parts) gz.write(part);
    gz.end();
  });
}

/** What CachedExposition renders once per cycle: a prom-client Registry, or anything with its `metrics()`. */
export interface MetricsSource {
  metrics(): Promise<string> | string;
}

/** Text expositions one after the other, as prom-client joins its families (a blank line between). */
export function joinText(...texts: string[]): string {
  const present = texts.filter((t) => t !== '');
  return present.length ? `${present.map((t) => (t.endsWith('\n') ? t.slice(0, -1) : t)).join('\n\n')}\n` : '';
}

/**
 * Helpers for families rendered by hand (the quote series, where prom-client's per-sample label
 * hashing and formatting cost seconds per cycle at 30,000 securities). Same text as prom-client:
 * HELP escapes \\ and newlines, label values also ", values as JS writes numbers.
 */
const escapeHelp = (text: string) => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabelValue = (text: string) => escapeHelp(text).replace(/"/g, '\\"');

/** `a="x",b="y"`: the inside of a sample's braces, for label values rendered once and reused. */
export function labelPairs(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}

/** A sample value as prom-client writes it. */
export function sampleValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (!Number.isFinite(value)) return value < 0 ? '-Inf' : '+Inf';
  return `${value}`;
}

/** `# HELP` and `# TYPE` of one family. */
export const familyHeader = (name: string, help: string, type: 'gauge' | 'counter' | 'histogram') =>
  `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}`;

const gzipOf = (r: Rendered): Promise<Buffer> => (r.gzipped ??= gzipParts(r.parts));

/**
 * Serves /metrics from text rendered ahead of time instead of per scrape.
 * `cycle` holds what changes once per poll (quote series): rendered when the owner calls
 * `cycleChanged()`, and the next scrape waits for that render, so it never gets the old quotes.
 * `live` holds what changes on its own (process metrics, sink counters): re-rendered in the
 * background at most once per `liveMaxAgeMs` while scrapes keep getting the previous render, so
 * no scrape waits on it. Concurrent scrapes share one render, one encoding and one gzip.
 */
export class CachedExposition {
  private cycleBody = Buffer.alloc(0);
  private cycleStale = true;
  /** Bumped by cycleChanged(): a background render started before it must not be served after it. */
  private generation = 0;
  private current: Promise<Rendered> | null = null;
  private renderedAt = -Infinity;
  private refreshing = false;
  private gzipAsked = false;

  constructor(
    private readonly cycle: MetricsSource,
    private readonly live: Registry,
    private readonly liveMaxAgeMs = 1000,
  ) {}

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  /**
   * The cycle registry changed: rendered again at once (with its gzip, once scrapers ask for it),
   * in the cycle's time rather than the first scrape's: at 30,000 securities a render and its gzip
   * take seconds, which a scrape would otherwise wait for. A scrape meanwhile waits for this render.
   */
  cycleChanged(): void {
    this.cycleStale = true;
    this.generation += 1;
    this.current = null;
    const rendering = this.rendered();
    (this.gzipAsked ? rendering.then(gzipOf) : rendering).catch(() => {});
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rendered = await this.rendered();
    const wantsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.setHeader('Content-Type', this.contentType);
    res.setHeader('Vary', 'Accept-Encoding');
    if (wantsGzip) {
      this.gzipAsked = true;
      const gzipped = await gzipOf(rendered);
      res.setHeader('Content-Encoding', 'gzip');
      res.end(gzipped);
    } else {
      res.setHeader('Content-Length', rendered.length);
      for (const part of rendered.parts.slice(0, -1)) res.write(part);
      res.end(rendered.parts.at(-1));
    }
  }

  private rendered(): Promise<Rendered> {
    if (!this.current) {
      this.renderedAt = performance.now();
      const rendering = this.render();
      this.current = rendering;
      // A failed render must not be served forever.
      rendering.catch(() => {
        if (this.current === rendering) this.current = null;
      });
    } else if (!this.refreshing && performance.now() - this.renderedAt > this.liveMaxAgeMs) {
      this.refreshInBackground();
    }
    return this.current;
  }

  /** Renders anew (with its gzip, once scrapers ask for it) and only then serves it. */
  private refreshInBackground(): void {
    const generation = this.generation;
    this.refreshing = true;
    this.renderedAt = performance.now();
    this.render()
      .then(async (rendered) => {
        if (this.gzipAsked) await gzipOf(rendered);
        if (generation === this.generation) this.current = Promise.resolve(rendered);
      })
      // The previous render stays served; the next scrape after liveMaxAgeMs tries again.
      .catch(() => {})
      .finally(() => {
        this.refreshing = false;
      });
  }

  private async render(): Promise<Rendered> {
    if (this.cycleStale) {
      this.cycleStale = false;
      this.cycleBody = Buffer.from(await this.cycle.metrics(), 'utf8');
    }
    const liveBody = Buffer.from(await this.live.metrics(), 'utf8');
    const parts = joinExpositions(this.cycleBody, liveBody);
    return { parts, length: parts.reduce((sum, part) => sum + part.length, 0) };
  }
}

const NEWLINE = Buffer.from('\n');

function joinExpositions(a: Buffer, b: Buffer): Buffer[] {
  if (a.length === 0) return [b];
  if (b.length === 0) return [a];
  return a[a.length - 1] === NEWLINE[0] ? [a, b] : [a, NEWLINE, b];
}
