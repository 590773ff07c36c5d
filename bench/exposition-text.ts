import http from 'node:http';
import { gunzipSync } from 'node:zlib';

/** The metric families of a text exposition whose names match `keep`, with their HELP/TYPE lines. */
export function filterFamilies(text: string, keep: RegExp): string {
  const out: string[] = [];
  let keeping = false;
  for (const line of text.split('\n')) {
    const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    // prom-client writes HELP and TYPE before each family's samples: they decide for the lines below.
    if (meta) keeping = keep.test(meta[1]!);
    if (keeping && line) out.push(line);
  }
  return `${out.join('\n')}\n`;
}

/** Sample lines whose metric name starts with `prefix`. */
export const countSamples = (text: string, prefix: string) => text.split('\n').filter((l) => l.startsWith(prefix)).length;

export interface RawAnswer {
  status: number;
  contentEncoding: string | undefined;
  /** Bytes on the wire (compressed when gzip was answered). */
  wireBytes: number;
  text: string;
}

/**
 * GET without decoding, to see what the server really sends for `acceptEncoding`. Once more after a
 * reset: a keep-alive socket the server closes as the request goes out (a loaded machine makes that
 * race likely) says nothing about the server.
 */
export async function getRaw(url: string, acceptEncoding?: string): Promise<RawAnswer> {
  try {
    return await getRawOnce(url, acceptEncoding);
  } catch (err) {
    if (!['ECONNRESET', 'EPIPE'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    return getRawOnce(url, acceptEncoding);
  }
}

function getRawOnce(url: string, acceptEncoding?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = acceptEncoding ? { 'accept-encoding': acceptEncoding } : {};
    http
      .get(url, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const encoding = res.headers['content-encoding'];
          const text = encoding === 'gzip' ? gunzipSync(body).toString('utf8') : body.toString('utf8');
          resolve({ status: res.statusCode ?? 0, contentEncoding: encoding, wireBytes: body.length, text });
        });
      })
      .on('error', reject);
  });
}
