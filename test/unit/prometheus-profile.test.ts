import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Function as ProfileFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import { cpuByKind } from '../../bench/prometheus-profile';

/** A CPU profile as Go writes it: [samples, cpu nanoseconds] per stack, leaf first. */
function goProfile(stacks: Array<{ frames: string[]; nanos: number }>): Uint8Array {
  const strings = new StringTable();
  const names = [...new Set(stacks.flatMap((s) => s.frames))];
  const functions = names.map((name, i) => new ProfileFunction({ id: i + 1, name: strings.dedup(name) }));
  const locations = names.map((_, i) => new Location({ id: i + 1, line: [new Line({ functionId: i + 1 })] }));
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: strings.dedup('samples'), unit: strings.dedup('count') }),
      new ValueType({ type: strings.dedup('cpu'), unit: strings.dedup('nanoseconds') }),
    ],
    sample: stacks.map((s) => new Sample({ locationId: s.frames.map((f) => names.indexOf(f) + 1), value: [1, s.nanos] })),
    location: locations,
    function: functions,
    stringTable: strings,
  });
  return gzipSync(profile.encode());
}

test("Prometheus' CPU by the kind of work on each stack: the first kind any frame belongs to, the cpu value summed", () => {
  const shares = cpuByKind(
    goProfile([
      {
        frames: ['github.com/prometheus/prometheus/model/textparse.(*PromParser).Next', 'github.com/prometheus/prometheus/scrape.(*scrapeLoop).append'],
        nanos: 3e9,
      },
      { frames: ['github.com/prometheus/prometheus/tsdb.(*headAppender).Append', 'github.com/prometheus/prometheus/scrape.(*scrapeLoop).append'], nanos: 2e9 },
      {
        frames: [
          'compress/flate.(*decompressor).huffmanBlock',
          'compress/gzip.(*Reader).Read',
          'github.com/prometheus/prometheus/scrape.(*scrapeLoop).scrapeAndReport',
        ],
        nanos: 1e9,
      },
      { frames: ['runtime.scanobject', 'runtime.gcBgMarkWorker'], nanos: 1.5e9 },
      { frames: ['github.com/prometheus/prometheus/promql.(*evaluator).eval', 'github.com/prometheus/prometheus/rules.(*Group).Eval'], nanos: 0.5e9 },
      { frames: ['syscall.Syscall', 'net/http.(*conn).serve'], nanos: 2e9 },
    ]),
  );
  assert.deepEqual(
    shares.map((s) => [s.kind, s.cpuSeconds]),
    [
      ['scrape: text format parsing', 3],
      ['scrape: appending samples to the head', 2],
      ['HTTP and the rest', 2],
      ['Go garbage collection', 1.5],
      ['scrape: gunzip', 1],
      ['rule evaluation', 0.5],
    ],
  );
  assert.equal(
    shares.reduce((sum, s) => sum + s.share, 0),
    1,
  );
});
