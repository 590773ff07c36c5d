// POST/GET /api/alerts over HTTP on the real backend process: Alertmanager's payload is stored and
// listed; garbage (not JSON, 10 MB, wrong shape) gets a 4xx JSON answer and the backend stays up.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startService, type RunningService } from '../support/services';

/** node:http rather than fetch: a 10 MB upload the server refuses early must still yield its answer. */
function request(url: string, method: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode!, json: JSON.parse(text) });
        } catch {
          reject(new Error(`HTTP ${res.statusCode}: not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    // The server may answer and close while a large body is still being sent.
    req.on('error', (err) =>
      (err as NodeJS.ErrnoException).code === 'EPIPE' || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err),
    );
    req.end(body);
  });
}

const firing = (alertname: string, severity: string, ticker?: string) => ({
  status: 'firing',
  labels: { alertname, severity, job: 'worker-prometheus', instance: 'w:8000', ...(ticker ? { ticker, board: 'TQBR' } : {}) },
  annotations: { summary: `${alertname} summary` },
  startsAt: new Date(Date.now() - 60_000).toISOString(),
  endsAt: '0001-01-01T00:00:00Z',
  generatorURL: 'http://prometheus:9090/graph',
  fingerprint: Buffer.from(alertname + (ticker ?? ''))
    .toString('hex')
    .slice(0, 16),
});
const webhook = (alerts: unknown[]) => JSON.stringify({ version: '4', status: 'firing', receiver: 'notify', groupLabels: {}, commonLabels: {}, alerts });

describe('backend /api/alerts', () => {
  let backend: RunningService;
  before(async () => {
    backend = await startService('backend', { PROMETHEUS_URL: 'http://127.0.0.1:9', ALERTMANAGER_URL: 'off', PROBE_TIMEOUT_MS: '500' });
  });
  after(() => backend?.stop());

  test('an Alertmanager notification is listed, firing first; its resolution replaces it', async () => {
    const stale = firing('MoexQuotesStale', 'warning', 'SBER');
    const polls = firing('MoexPollsFailing', 'critical');
    const posted = await request(`${backend.url}/api/alerts`, 'POST', webhook([stale, polls]));
    assert.deepEqual(posted, { status: 200, json: { accepted: 2 } });
    let list = (await request(`${backend.url}/api/alerts`, 'GET')).json.alerts as Array<{ alertname: string; status: string; endsAt: string | null }>;
    assert.deepEqual(
      list.map((a) => [a.alertname, a.status]),
      [
        ['MoexPollsFailing', 'firing'],
        ['MoexQuotesStale', 'firing'],
      ],
    );

    const resolvedAt = new Date().toISOString();
    await request(`${backend.url}/api/alerts`, 'POST', webhook([{ ...polls, status: 'resolved', endsAt: resolvedAt }]));
    list = (await request(`${backend.url}/api/alerts`, 'GET')).json.alerts;
    assert.deepEqual(
      list.map((a) => [a.alertname, a.status]),
      [
        ['MoexQuotesStale', 'firing'],
        ['MoexPollsFailing', 'resolved'],
      ],
    );
    assert.equal(list[1]!.endsAt, resolvedAt);
  });

  test('garbage: not JSON, 10 MB, wrong shape each get a 4xx JSON error, and the backend stays up', async () => {
    const url = `${backend.url}/api/alerts`;
    const notJson = await request(url, 'POST', 'alertname=MoexPollsFailing&status=firing', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(notJson.status, 400);
    assert.match(notJson.json.error, /not valid JSON/);

    const huge = await request(url, 'POST', Buffer.alloc(10 * 1024 * 1024, 'x'));
    assert.equal(huge.status, 413);
    assert.match(huge.json.error, /larger than 256kb/);

    // Valid JSON, but large: the limit is on bytes, not on parse errors.
    const bigJson = await request(url, 'POST', webhook(Array.from({ length: 2000 }, () => firing('MoexQuotesStale', 'warning', 'SBER'))));
    assert.equal(bigJson.status, 413);

    for (const body of ['[]', '{"alerts":"all"}', '"firing"', 'null', webhook([{ status: 'firing' }])]) {
      const res = await request(url, 'POST', body);
      assert.equal(res.status, 400, body);
      assert.equal(typeof res.json.error, 'string', body);
    }

    assert.equal((await request(`${backend.url}/healthz`, 'GET')).status, 200);
    const list = (await request(url, 'GET')).json.alerts as Array<{ alertname: string }>;
    assert.ok(
      list.every((a) => ['MoexQuotesStale', 'MoexPollsFailing'].includes(a.alertname)),
      'nothing of the garbage was stored',
    );
  });

  test('request metrics label both methods with the route /api/alerts', async () => {
    const res = await fetch(`${backend.url}/metrics`);
    const text = await res.text();
    assert.match(text, /http_request_duration_seconds_count\{[^}]*method="POST",route="\/api\/alerts",status_code="200"\}/);
    assert.match(text, /http_request_duration_seconds_count\{[^}]*method="GET",route="\/api\/alerts",status_code="200"\}/);
  });

  test('/api/status has an alertmanager component', async () => {
    const status = await request(`${backend.url}/api/status`, 'GET');
    const component = status.json.components.find((c: { name: string }) => c.name === 'alertmanager');
    assert.deepEqual([component.ok, component.detail], [true, 'not configured (ALERTMANAGER_URL=off)']);
  });
});
