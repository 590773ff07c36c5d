/**
 * The container healthcheck of our image: `node dist/lib/healthcheck.js` (the Dockerfile's
 * HEALTHCHECK and every compose healthcheck of worker, scraper, backend and iss-sim). GET /healthz
 * of the service in this container on PORT (unset: the service's default port, found from the
 * running process), over https when WEB_CONFIG_FILE gives the service a certificate. Exit 0 when
 * it answers 2xx, else 1 with one line saying why. The slim image has no curl.
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { webConfigFile } from './web-config';

const DEFAULT_PORTS: Record<string, number> = { 'worker-prometheus': 8000, scraper: 8001, backend: 8998, 'iss-sim': 8999 };

/** The default port of the first of our services found among the container's processes. */
function portOfRunningService(): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue; // the process ended meanwhile
    }
    const service = Object.keys(DEFAULT_PORTS).find((name) => cmdline.includes(`dist/${name}/`));
    if (service) return DEFAULT_PORTS[service];
  }
  return undefined;
}

function fail(message: string): never {
  console.error(`healthcheck: ${message}`);
  process.exit(1);
}

function main(): void {
  const port = process.env.PORT ? Number(process.env.PORT) : portOfRunningService();
  if (!port) fail('no service process found and PORT unset');
  let secure: boolean;
  try {
    secure = webConfigFile(process.env.WEB_CONFIG_FILE)?.tls != null;
  } catch (err) {
    fail(`WEB_CONFIG_FILE: ${err instanceof Error ? err.message : String(err)}`);
  }
  const url = `${secure ? 'https' : 'http'}://127.0.0.1:${port}/healthz`;
  // The service's own loopback port: liveness is the question, not the certificate's names (a
  // certificate for the public host name need not list 127.0.0.1).
  const req = (secure ? https : http).get(url, { timeout: 4000, ...(secure ? { rejectUnauthorized: false } : {}) }, (res) => {
    res.resume();
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) process.exit(0);
    fail(`${url} answered ${status}`);
  });
  req.on('timeout', () => req.destroy(new Error('no answer within 4 s')));
  req.on('error', (err) => fail(`${url}: ${err.message}`));
}

main();
