import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { constants, crc32, createDeflateRaw, deflateRawSync, inflateRaw as inflateRawCallback } from 'node:zlib';

const inflateRaw = promisify(inflateRawCallback);
import { Registry } from 'prom-client';

/**
 * The cycle's bytes (what changes once per poll: the quote series), shared by every render until
 * the next poll, and their compressed form once a scraper asked for gzip. Kept as bytes only:
 * encoded once, not per scrape, and no string copy of them stays in the heap.
 */
interface CycleBytes {
  /** Null once deflated (or deflated from the start): Prometheus asks for gzip, so the 80 MB of plain text are not kept. */
  parts: Buffer[] | null;
  deflated?: Promise<DeflatedCycle>;
  /** The plain bytes inflated again for a plain scrape, kept for the next ones of this cycle. */
  inflated?: Promise<Buffer[]>;
}

/** The cycle's raw deflate blocks, ended by a sync flush (byte-aligned, not final), their CRC-32 and plain length. */
interface DeflatedCycle {
  blocks: Buffer;
  crc: number;
  length: number;
}

/** One render: the cycle's bytes, then the live ones (process metrics, counters: small, rendered often). */
interface Rendered {
  cycle: CycleBytes;
  live: Buffer;
  gzipped?: Promise<Buffer[]>;
}

/**
 * Below this the cycle is deflated in one synchronous call: for a 3-ticker render (~20 KB) a zlib
 * stream cost 0.7-1.0 ms of CPU (its setup and the hops to libuv's thread pool), the sync call
 * 0.2-0.3 ms. Larger renders stream, so the event loop is not held for the whole compression.
 */
const SYNC_GZIP_BELOW_BYTES = 256 * 1024;

/**
 * Above this a cycle is deflated at level 1, not 6: at 30,000 securities (87 MB) level 6 took 3-4 s
 * of CPU per cycle and level 1 about 1 s, for a body 15% larger (5.0 MB instead of 4.3 MB).
 */
const FAST_GZIP_ABOVE_BYTES = 1024 * 1024;

const levelFor = (bytes: number) => (bytes > FAST_GZIP_ABOVE_BYTES ? 1 : 6);

/**
 * Deflates the cycle's bytes as they come (each part is let go once written, and the next is made
 * only when zlib has taken the last: no plain copy of the whole is held), ended by a sync flush;
 * `expectedBytes` (the whole's size, or the last cycle's) picks the level before the end is known.
 */
function deflateCycle(parts: Iterable<Buffer>, expectedBytes: number): Promise<DeflatedCycle> {
  const iterator = parts[Symbol.iterator]();
  let length = 0;
  let crc = 0;
  const take = () => {
    const next = iterator.next();
    if (next.done) return null;
    length += next.value.length;
    crc = crc32(next.value, crc);
    return next.value;
  };
  const head: Buffer[] = [];
  let part = take();
  while (part && length < SYNC_GZIP_BELOW_BYTES) {
    head.push(part);
    part = take();
  }
  const finishFlush = constants.Z_SYNC_FLUSH;
  if (!part) {
    try {
      return Promise.resolve({ blocks: deflateRawSync(Buffer.concat(head, length), { level: levelFor(length), finishFlush }), crc, length });
    } catch (err) {
      return Promise.reject(err);
    }
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const deflate = createDeflateRaw({ level: levelFor(Math.max(length, expectedBytes)), finishFlush });
    deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
    deflate.on('end', () => resolve({ blocks: Buffer.concat(chunks), crc, length }));
    deflate.on('error', reject);
    for (const p of head) deflate.write(p);
    const pump = () => {
      for (; part; part = take()) {
        if (!deflate.write(part)) {
          part = take();
          deflate.once('drain', pump);
          return;
        }
      }
      deflate.end();
    };
    pump();
  });
}

/** The cycle's plain bytes: kept, or inflated again for the rare plain scrape (curl) once only the deflated form is kept. */
function plainOf(cycle: CycleBytes): Promise<Buffer[]> {
  if (cycle.parts) return Promise.resolve(cycle.parts);
  cycle.inflated ??= cycle.deflated!.then(async ({ blocks }) => [await inflateRaw(blocks, { finishFlush: constants.Z_SYNC_FLUSH })]);
  return cycle.inflated;
}

/** gzip's member header: magic, deflate, no flags, no time, no extra flags, unknown OS (RFC 1952 2.3). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/**
 * A render's gzip body, one gzip member: the cycle's deflate blocks, compressed once per poll, then
 * the live bytes deflated on their own (a new deflate stream may follow a sync flush: its blocks
 * refer back only into themselves), with the CRC-32 continued from the cycle's. So a live refresh,
 * at most every second, compresses its few kilobytes, not the cycle's 80 MB again.
 */
function gzipOf(r: Rendered): Promise<Buffer[]> {
  const { cycle } = r;
  const parts = cycle.parts!;
  cycle.deflated ??= deflateCycle(
    parts,
    parts.reduce((sum, part) => sum + part.length, 0),
  ).then((deflated) => {
    cycle.parts = null;
    return deflated;
  });
  r.gzipped ??= cycle.deflated.then(({ blocks, crc, length }) => {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(crc32(r.live, crc) >>> 0, 0);
    trailer.writeUInt32LE((length + r.live.length) % 2 ** 32, 4);
    return [GZIP_HEADER, blocks, deflateRawSync(r.live), trailer];
  });
  return r.gzipped;
}

/**
 * What CachedExposition renders once per cycle: a prom-client Registry, or anything with its
 * `metrics()`; several texts are joined (families rendered by hand: at 30,000 securities they are
 * 80 MB, and joining them into one string before encoding would copy them twice more).
 */
export interface MetricsSource {
  metrics(): Promise<string | Iterable<string>> | string | Iterable<string>;
}

const withoutFinalNewline = (t: string) => (t.endsWith('\n') ? t.slice(0, -1) : t);

/** Text expositions one after the other, as prom-client joins its families (a blank line between). */
export function joinText(...texts: string[]): string {
  const present = texts.filter((t) => t !== '');
  return present.length ? `${present.map(withoutFinalNewline).join('\n\n')}\n` : '';
}

const BLANK_LINE = Buffer.from('\n\n');
const FINAL_NEWLINE = Buffer.from('\n');

/**
 * The bytes of joinText(...texts), each text encoded on its own as it comes (a generator's text
 * can be collected once encoded): no joined copy of them all, nor all of them as strings at once.
 */
function* joinedParts(texts: Iterable<string>): Generator<Buffer> {
  let first = true;
  for (const text of texts) {
    if (text === '') continue;
    if (!first) yield BLANK_LINE;
    first = false;
    yield Buffer.from(withoutFinalNewline(text), 'utf8');
  }
  if (!first) yield FINAL_NEWLINE;
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

/**
 * Serves /metrics from text rendered ahead of time instead of per scrape.
 * `cycle` holds what changes once per poll (quote series): rendered when the owner calls
 * `cycleChanged()`, and the next scrape waits for that render, so it never gets the old quotes.
 * `live` holds what changes on its own (process metrics, sink counters): re-rendered in the
 * background at most once per `liveMaxAgeMs` while scrapes keep getting the previous render, so
 * no scrape waits on it. Concurrent scrapes share one render, one encoding and one gzip.
 */
export class CachedExposition {
  private cycleBytes: CycleBytes = { parts: [] };
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
    const parts = wantsGzip ? await gzipOf(rendered) : [...(await plainOf(rendered.cycle)), rendered.live];
    if (wantsGzip) {
      this.gzipAsked = true;
      res.setHeader('Content-Encoding', 'gzip');
    }
    res.setHeader(
      'Content-Length',
      parts.reduce((sum, part) => sum + part.length, 0),
    );
    for (const part of parts.slice(0, -1)) res.write(part);
    res.end(parts.at(-1));
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

  /** The plain length of the last cycle deflated as it was rendered; unknown at first (level 1 then, for a large one). */
  private lastStreamedBytes = Infinity;

  private deflateStreamed(parts: Iterable<Buffer>): Promise<DeflatedCycle> {
    const deflated = deflateCycle(parts, this.lastStreamedBytes);
    deflated.then(({ length }) => (this.lastStreamedBytes = length)).catch(() => {});
    return deflated;
  }

  private async render(): Promise<Rendered> {
    if (this.cycleStale) {
      this.cycleStale = false;
      const cycle = await this.cycle.metrics();
      const parts = joinedParts(typeof cycle === 'string' ? [cycle] : cycle);
      // Once a scraper asked for gzip (Prometheus does), each cycle goes to deflate as it is rendered, with
      // no plain copy. The families render while zlib takes them: a poll that ended meanwhile (only a cycle
      // that outlasts its period) can lend the later families its values.
      // Streamed, the cycle's size is known only at the end: the level follows the last cycle's (about the same).
      this.cycleBytes = this.gzipAsked ? { parts: null, deflated: this.deflateStreamed(parts) } : { parts: [...parts] };
    }
    // Two expositions follow each other as prom-client writes them: no blank line between (a family's lines end with one newline).
    const live = Buffer.from(await this.live.metrics(), 'utf8');
    return { cycle: this.cycleBytes, live };
  }
}
