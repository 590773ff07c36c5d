import express, { type NextFunction, type Request, type Response } from 'express';

/**
 * Alerts for the web page: Alertmanager's webhook receiver posts its notifications to
 * POST /api/alerts (alertmanager/render.sh adds the backend as a receiver), and GET /api/alerts
 * lists what is firing and what resolved recently. Kept in memory, bounded: the page shows the
 * present, Alertmanager itself remains the record.
 */

/** One alert as the page shows it. */
export interface StoredAlert {
  fingerprint: string;
  status: 'firing' | 'resolved';
  alertname: string;
  severity: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  /** When it resolved; null while firing. */
  endsAt: string | null;
  generatorURL: string | null;
  /** When the backend last heard of it (ISO time). */
  receivedAt: string;
}

const ALERTS_BODY_LIMIT = '256kb';
/** Distinct alerts kept; the oldest news is dropped first, resolved before firing. */
const ALERTS_KEPT = 200;
/** A resolved alert stays listed this long. */
const RESOLVED_KEPT_MS = 60 * 60 * 1000;
/** Alertmanager's own bound on alerts per notification is configurable; this one is ours. */
const MAX_ALERTS_PER_PAYLOAD = 1000;
const MAX_TEXT = 4096;

type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(value: unknown, what: string): Parsed<Record<string, string>> {
  if (value === undefined) return { ok: true, value: {} };
  if (!isRecord(value)) return { ok: false, error: `${what} must be an object of strings` };
  const entries = Object.entries(value);
  if (entries.length > 64) return { ok: false, error: `${what} has more than 64 entries` };
  for (const [k, v] of entries) {
    if (typeof v !== 'string' || v.length > MAX_TEXT || k.length > 256)
      return { ok: false, error: `${what}.${k.slice(0, 64)} must be a string of at most ${MAX_TEXT} characters` };
  }
  return { ok: true, value: Object.fromEntries(entries) as Record<string, string> };
}

/** Alertmanager writes the zero time for "not resolved yet". */
const timeOrNull = (v: unknown): string | null =>
  typeof v === 'string' && !v.startsWith('0001-') && Number.isFinite(Date.parse(v)) ? new Date(v).toISOString() : null;

/**
 * Alertmanager's webhook payload (version 4): `{version, status, receiver, groupLabels, alerts: [{status,
 * labels, annotations, startsAt, endsAt, generatorURL, fingerprint}], ...}`. Anything else is refused
 * with a reason; fields the page does not show are ignored.
 */
export function parseWebhookPayload(body: unknown, now: Date): Parsed<StoredAlert[]> {
  if (!isRecord(body)) return { ok: false, error: 'expected an Alertmanager webhook payload: a JSON object' };
  if (body.version !== undefined && body.version !== '4')
    return { ok: false, error: `unsupported payload version ${JSON.stringify(body.version).slice(0, 20)} (expected "4")` };
  if (!Array.isArray(body.alerts)) return { ok: false, error: 'alerts must be an array' };
  if (body.alerts.length > MAX_ALERTS_PER_PAYLOAD) return { ok: false, error: `more than ${MAX_ALERTS_PER_PAYLOAD} alerts in one payload` };
  const alerts: StoredAlert[] = [];
  for (const [i, raw] of body.alerts.entries()) {
    const where = `alerts[${i}]`;
    if (!isRecord(raw)) return { ok: false, error: `${where} must be an object` };
    if (raw.status !== 'firing' && raw.status !== 'resolved') return { ok: false, error: `${where}.status must be "firing" or "resolved"` };
    const labels = stringMap(raw.labels, `${where}.labels`);
    if (!labels.ok) return labels;
    const annotations = stringMap(raw.annotations, `${where}.annotations`);
    if (!annotations.ok) return annotations;
    const alertname = labels.value.alertname;
    if (!alertname) return { ok: false, error: `${where}.labels.alertname is missing` };
    const startsAt = timeOrNull(raw.startsAt);
    if (!startsAt) return { ok: false, error: `${where}.startsAt must be an RFC 3339 time` };
    const fingerprint = typeof raw.fingerprint === 'string' && /^[0-9a-f]{1,32}$/.test(raw.fingerprint) ? raw.fingerprint : labelKey(labels.value);
    alerts.push({
      fingerprint,
      status: raw.status,
      alertname,
      severity: labels.value.severity ?? null,
      labels: labels.value,
      annotations: annotations.value,
      startsAt,
      endsAt: raw.status === 'resolved' ? (timeOrNull(raw.endsAt) ?? now.toISOString()) : null,
      generatorURL: typeof raw.generatorURL === 'string' && /^https?:\/\//.test(raw.generatorURL) ? raw.generatorURL.slice(0, MAX_TEXT) : null,
      receivedAt: now.toISOString(),
    });
  }
  return { ok: true, value: alerts };
}

/** Identity of an alert without Alertmanager's fingerprint (older senders): its sorted label set. */
const labelKey = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };

/** The latest news of each alert, by fingerprint, bounded in count and in how long resolved ones stay. */
export class AlertStore {
  private readonly alerts = new Map<string, StoredAlert>();

  constructor(
    private readonly limit = ALERTS_KEPT,
    private readonly resolvedKeptMs = RESOLVED_KEPT_MS,
  ) {}

  record(alerts: StoredAlert[], now: Date): void {
    for (const alert of alerts) {
      this.alerts.delete(alert.fingerprint); // re-inserted last: Map order is "oldest news first"
      this.alerts.set(alert.fingerprint, alert);
    }
    this.prune(now);
  }

  /** Firing first (critical, warning, info; newest first), then resolved (latest resolution first). */
  list(now: Date): StoredAlert[] {
    this.prune(now);
    const rank = (a: StoredAlert) => SEVERITY_ORDER[a.severity ?? ''] ?? 3;
    const firing = [...this.alerts.values()].filter((a) => a.status === 'firing').sort((a, b) => rank(a) - rank(b) || b.startsAt.localeCompare(a.startsAt));
    const resolved = [...this.alerts.values()].filter((a) => a.status === 'resolved').sort((a, b) => (b.endsAt ?? '').localeCompare(a.endsAt ?? ''));
    return [...firing, ...resolved];
  }

  private prune(now: Date): void {
    const oldestKept = now.getTime() - this.resolvedKeptMs;
    for (const [key, a] of this.alerts) if (a.status === 'resolved' && Date.parse(a.receivedAt) < oldestKept) this.alerts.delete(key);
    for (const status of ['resolved', 'firing'] as const) {
      for (const [key, a] of this.alerts) {
        if (this.alerts.size <= this.limit) return;
        if (a.status === status) this.alerts.delete(key);
      }
    }
  }
}

/** GET and POST /api/alerts (full paths, so request metrics label them `/api/alerts`); every refusal is JSON with a 4xx status. */
export function alertsRouter(store: AlertStore): express.Router {
  const router = express.Router();
  // Any content type is read as JSON: Alertmanager sends application/json, and garbage must get a JSON answer.
  router.post('/api/alerts', express.json({ limit: ALERTS_BODY_LIMIT, type: () => true }), (req, res) => {
    const now = new Date();
    const parsed = parseWebhookPayload(req.body, now);
    if (!parsed.ok) return void res.status(400).json({ error: parsed.error });
    store.record(parsed.value, now);
    res.json({ accepted: parsed.value.length });
  });
  router.get('/api/alerts', (_req, res) => void res.json({ alerts: store.list(new Date()) }));
  // body-parser's errors carry a status and a type: too large, not JSON, an unknown charset.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') return void res.status(413).json({ error: `payload larger than ${ALERTS_BODY_LIMIT}` });
    if (type === 'entity.parse.failed') return void res.status(400).json({ error: 'body is not valid JSON' });
    if (type === 'charset.unsupported' || type === 'encoding.unsupported') return void res.status(415).json({ error: 'unsupported body encoding' });
    next(err);
  });
  return router;
}
