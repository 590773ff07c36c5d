// backend/src/alerts.ts: Alertmanager's webhook payload is validated, and the store keeps the latest
// news of each alert, firing first, bounded in count and in how long resolved alerts stay.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AlertStore, parseWebhookPayload, type StoredAlert } from '../../backend/src/alerts';

const NOW = new Date('2026-03-02T10:00:00Z');

/** The shape Alertmanager 0.25+ posts (webhook_config, payload version 4). */
function payload(status: 'firing' | 'resolved', alerts: unknown[]) {
  return {
    version: '4',
    groupKey: '{}:{alertname="MoexPollsFailing"}',
    truncatedAlerts: 0,
    status,
    receiver: 'notify',
    groupLabels: { alertname: 'MoexPollsFailing' },
    commonLabels: { alertname: 'MoexPollsFailing', severity: 'critical' },
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts,
  };
}

const pollsFailing = (status: 'firing' | 'resolved', extra: Record<string, unknown> = {}) => ({
  status,
  labels: { alertname: 'MoexPollsFailing', severity: 'critical', job: 'worker-prometheus', instance: 'w:8000', stack: 'moex-monitoring' },
  annotations: { summary: 'worker-prometheus cannot poll MOEX ISS', description: 'Every poll failed.' },
  startsAt: '2026-03-02T09:50:00.123456789Z',
  endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-03-02T09:58:00Z',
  generatorURL: 'http://prometheus:9090/graph?g0.expr=moex_up+%3D%3D+0',
  fingerprint: '8c1f0a3b2d4e5f60',
  ...extra,
});

function parsed(body: unknown): StoredAlert[] {
  const result = parseWebhookPayload(body, NOW);
  assert.ok(result.ok, result.ok ? '' : result.error);
  return result.value;
}

function refused(body: unknown): string {
  const result = parseWebhookPayload(body, NOW);
  assert.equal(result.ok, false, `accepted ${JSON.stringify(body)}`);
  return result.ok ? '' : result.error;
}

describe('parseWebhookPayload', () => {
  test('a firing alert: labels, annotations, times; the zero endsAt means "not resolved"', () => {
    const [alert] = parsed(payload('firing', [pollsFailing('firing')]));
    assert.deepEqual(alert, {
      fingerprint: '8c1f0a3b2d4e5f60',
      status: 'firing',
      alertname: 'MoexPollsFailing',
      severity: 'critical',
      labels: pollsFailing('firing').labels,
      annotations: pollsFailing('firing').annotations,
      startsAt: '2026-03-02T09:50:00.123Z',
      endsAt: null,
      generatorURL: 'http://prometheus:9090/graph?g0.expr=moex_up+%3D%3D+0',
      receivedAt: NOW.toISOString(),
    });
  });

  test('a resolved alert keeps its end time; without fingerprint, the label set identifies it', () => {
    const [resolved] = parsed(payload('resolved', [pollsFailing('resolved')]));
    assert.equal(resolved!.status, 'resolved');
    assert.equal(resolved!.endsAt, '2026-03-02T09:58:00.000Z');
    const [a] = parsed(payload('firing', [pollsFailing('firing', { fingerprint: undefined })]));
    const [b] = parsed(payload('firing', [pollsFailing('firing', { fingerprint: undefined, annotations: {} })]));
    assert.equal(a!.fingerprint, b!.fingerprint);
    const [c] = parsed(payload('firing', [pollsFailing('firing', { fingerprint: undefined, labels: { alertname: 'TargetDown' } })]));
    assert.notEqual(a!.fingerprint, c!.fingerprint);
  });

  test('garbage is refused with a reason naming what is wrong', () => {
    assert.match(refused(null), /JSON object/);
    assert.match(refused('MoexPollsFailing'), /JSON object/);
    assert.match(refused([pollsFailing('firing')]), /JSON object/);
    assert.match(refused({ alerts: 'all of them' }), /alerts must be an array/);
    assert.match(refused({ ...payload('firing', []), version: '3' }), /version/);
    assert.match(refused(payload('firing', [42])), /alerts\[0\] must be an object/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { status: 'burning' })])), /alerts\[0\]\.status/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { labels: { severity: 'critical' } })])), /alertname is missing/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { labels: { alertname: 'X', port: 8000 } })])), /labels\.port must be a string/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { annotations: ['a'] })])), /annotations must be an object/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { startsAt: 'yesterday' })])), /startsAt/);
    assert.match(refused(payload('firing', [pollsFailing('firing', { annotations: { summary: 'x'.repeat(5000) } })])), /at most 4096/);
    assert.match(
      refused(
        payload(
          'firing',
          Array.from({ length: 1001 }, () => pollsFailing('firing')),
        ),
      ),
      /more than 1000 alerts/,
    );
  });

  test('a generator URL that is not http(s) is dropped (the page links to it)', () => {
    const [alert] = parsed(payload('firing', [pollsFailing('firing', { generatorURL: 'javascript:alert(1)' })]));
    assert.equal(alert!.generatorURL, null);
  });
});

function alert(fingerprint: string, status: 'firing' | 'resolved', severity: string, startsAt: string, receivedAt = NOW): StoredAlert {
  return {
    fingerprint,
    status,
    alertname: `A${fingerprint}`,
    severity,
    labels: {},
    annotations: {},
    startsAt,
    endsAt: status === 'resolved' ? receivedAt.toISOString() : null,
    generatorURL: null,
    receivedAt: receivedAt.toISOString(),
  };
}

describe('AlertStore', () => {
  test('the latest news of an alert replaces the earlier one', () => {
    const store = new AlertStore();
    store.record([alert('1', 'firing', 'critical', '2026-03-02T09:00:00Z')], NOW);
    store.record([alert('1', 'resolved', 'critical', '2026-03-02T09:00:00Z')], NOW);
    assert.deepEqual(
      store.list(NOW).map((a) => [a.fingerprint, a.status]),
      [['1', 'resolved']],
    );
  });

  test('firing first (critical, warning, info, then newest), resolved after (latest first)', () => {
    const store = new AlertStore();
    store.record(
      [
        alert('r-old', 'resolved', 'critical', '2026-03-02T08:00:00Z', new Date(NOW.getTime() - 60_000)),
        alert('info', 'firing', 'info', '2026-03-02T09:59:00Z'),
        alert('warn-old', 'firing', 'warning', '2026-03-02T09:00:00Z'),
        alert('r-new', 'resolved', 'warning', '2026-03-02T08:00:00Z'),
        alert('warn-new', 'firing', 'warning', '2026-03-02T09:30:00Z'),
        alert('crit', 'firing', 'critical', '2026-03-02T08:00:00Z'),
      ],
      NOW,
    );
    assert.deepEqual(
      store.list(NOW).map((a) => a.fingerprint),
      ['crit', 'warn-new', 'warn-old', 'info', 'r-new', 'r-old'],
    );
  });

  test('resolved alerts leave after the kept time; firing ones stay', () => {
    const store = new AlertStore(200, 60_000);
    store.record([alert('r', 'resolved', 'warning', '2026-03-02T09:00:00Z'), alert('f', 'firing', 'warning', '2026-03-02T09:00:00Z')], NOW);
    assert.equal(store.list(new Date(NOW.getTime() + 59_000)).length, 2);
    assert.deepEqual(
      store.list(new Date(NOW.getTime() + 61_000)).map((a) => a.fingerprint),
      ['f'],
    );
  });

  test('bounded: past the limit the oldest resolved go first, then the oldest firing', () => {
    const store = new AlertStore(3);
    store.record([alert('f1', 'firing', 'warning', '2026-03-02T09:01:00Z'), alert('r1', 'resolved', 'warning', '2026-03-02T09:02:00Z')], NOW);
    store.record([alert('f2', 'firing', 'warning', '2026-03-02T09:03:00Z'), alert('f3', 'firing', 'warning', '2026-03-02T09:04:00Z')], NOW);
    assert.deepEqual(
      store
        .list(NOW)
        .map((a) => a.fingerprint)
        .sort(),
      ['f1', 'f2', 'f3'],
    );
    store.record([alert('f4', 'firing', 'warning', '2026-03-02T09:05:00Z')], NOW);
    assert.deepEqual(
      store
        .list(NOW)
        .map((a) => a.fingerprint)
        .sort(),
      ['f2', 'f3', 'f4'],
    );
    for (let i = 0; i < 1000; i++) store.record([alert(`x${i}`, 'firing', 'info', '2026-03-02T09:06:00Z')], NOW);
    assert.equal(store.list(NOW).length, 3);
  });
});
