import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseExposition, parseSampleKey, sumOf } from '../support/services';

// The bench and the tests read figures off /metrics with these; a reader that adds what it should
// not once doubled Prometheus' head series in docs/BENCHMARKS.md (issue 31).
const exposition = `# HELP prometheus_tsdb_head_series Total number of series in the head block.
# TYPE prometheus_tsdb_head_series gauge
prometheus_tsdb_head_series 485243
# HELP prometheus_tsdb_head_series_created_total Total number of series created in the head
# TYPE prometheus_tsdb_head_series_created_total counter
prometheus_tsdb_head_series_created_total 485243
moex_polls_total{board="TQBR",result="ok"} 10
moex_polls_total{board="TQBR",result="error"} 2
moex_polls_total{board="SNDX",result="error"} 3
moex_polls_total_extra{result="error"} 100
scraper_write_errors_total{sink="graphite",reason="network"} 4
scraper_write_errors_total{sink="influxdb",reason="auth"} 5
scraper_write_errors_total{sink="influxdb",reason="network"} 6
label_with_quote{path="a\\"b,c=d"} 7
`;
const samples = parseExposition(exposition);

test('sumOf reads the metric named exactly: a longer name that starts with it is not added', () => {
  assert.equal(sumOf(samples, 'prometheus_tsdb_head_series'), 485243);
  assert.equal(sumOf(samples, 'moex_polls_total', { result: 'error' }), 5);
  assert.equal(sumOf(samples, 'moex_polls_total'), 15);
});

test('sumOf matches a subset of labels, whatever their order', () => {
  assert.equal(sumOf(samples, 'scraper_write_errors_total', { sink: 'influxdb' }), 11);
  assert.equal(sumOf(samples, 'scraper_write_errors_total', { reason: 'network' }), 10);
  assert.equal(sumOf(samples, 'scraper_write_errors_total', { reason: 'network', sink: 'influxdb' }), 6);
  assert.equal(sumOf(samples, 'scraper_write_errors_total', { sink: 'statsd' }), 0);
});

test('parseSampleKey: name and labels, escaped quotes and commas inside a value kept', () => {
  assert.deepEqual(parseSampleKey('up'), { name: 'up', labels: {} });
  assert.deepEqual(parseSampleKey('label_with_quote{path="a\\"b,c=d"}'), { name: 'label_with_quote', labels: { path: 'a\\"b,c=d' } });
  assert.equal(sumOf(samples, 'label_with_quote', { path: 'a\\"b,c=d' }), 7);
});
