import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { Registry } from 'prom-client';

const gzipAsync = promisify(gzip);

interface Rendered {
  text: string;
  gzipped?: Promise<Buffer>;
}

/**
 * Serves /metrics from text rendered ahead of time instead of per scrape.
 * `cycle` holds what changes once per poll (quote series): rendered when the owner calls
 * `cycleChanged()`. `live` holds what changes on its own (process metrics, sink counters):
 * rendered at most once per `liveMaxAgeMs`. Concurrent scrapes share one render and one gzip.
 */
export class CachedExposition {
  private cycleText = '';
  private cycleStale = true;
  private liveRenderedAt = -Infinity;
  private current: Promise<Rendered> | null = null;

  constructor(
    private readonly cycle: Registry,
    private readonly live: Registry,
    private readonly liveMaxAgeMs = 1000,
  ) {}

  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;

  /** The cycle registry changed: the next scrape renders it again. */
  cycleChanged(): void {
    this.cycleStale = true;
    this.current = null;
  }

  /** The whole exposition text, as a scrape would get it. */
  async text(): Promise<string> {
    return (await this.rendered()).text;
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rendered = await this.rendered();
    const wantsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    res.setHeader('Content-Type', this.contentType);
    res.setHeader('Vary', 'Accept-Encoding');
    if (wantsGzip) {
      rendered.gzipped ??= gzipAsync(rendered.text, { level: 6 });
      res.setHeader('Content-Encoding', 'gzip');
      res.end(await rendered.gzipped);
    } else {
      res.end(rendered.text);
    }
  }

  private rendered(): Promise<Rendered> {
    if (!this.current || performance.now() - this.liveRenderedAt > this.liveMaxAgeMs) {
      this.liveRenderedAt = performance.now();
      this.current = this.render();
      // A failed render must not be served forever.
      this.current.catch(() => {
        this.current = null;
      });
    }
    return this.current;
  }

  private async render(): Promise<Rendered> {
    if (this.cycleStale) {
      this.cycleStale = false;
      this.cycleText = await this.cycle.metrics();
    }
    const liveText = await this.live.metrics();
    return { text: joinExpositions(this.cycleText, liveText) };
  }
}

function joinExpositions(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  return a.endsWith('\n') ? a + b : `${a}\n${b}`;
}
