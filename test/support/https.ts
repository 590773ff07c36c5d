/**
 * One HTTP(S) request with what fetch() cannot be given per call: a CA to trust (a test's
 * self-signed certificate) and basic credentials.
 *
 *   const r = await request(`${worker.url}/metrics`, { ca: fs.readFileSync(crt), user: 'prometheus', password });
 *   r.status, r.headers['www-authenticate'], r.body
 */
import http from 'node:http';
import https from 'node:https';

export interface RequestOptions {
  ca?: Buffer | string;
  /** Accept any certificate (readiness waits only). */
  insecure?: boolean;
  user?: string;
  password?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(url: string, options: RequestOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${options.user}:${options.password ?? ''}`).toString('base64')}`;
  const secure = url.startsWith('https:');
  const client = secure ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: options.method ?? 'GET',
        headers,
        timeout: options.timeoutMs ?? 10_000,
        ...(secure ? { ca: options.ca, rejectUnauthorized: !options.insecure } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: no answer`)));
    req.on('error', reject);
    req.end(options.body);
  });
}
