/**
 * Where Prometheus' CPU goes: its own CPU profile (Go's pprof, served at /debug/pprof/profile),
 * each sample's time put in the first of these kinds of work that any frame of its stack belongs to.
 */
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

export const PROFILE_KINDS: ReadonlyArray<{ kind: string; frame: RegExp }> = [
  // Go's collector runs on its own goroutines: a mark or sweep worker is collection whatever it scans.
  { kind: 'Go garbage collection', frame: /^runtime\.(gcBgMarkWorker|bgsweep|bgscavenge|gcAssistAlloc)/ },
  { kind: 'rule evaluation', frame: /\/prometheus\/(rules|promql)\./ },
  {
    kind: 'compaction, head truncation, WAL',
    frame: /\/tsdb\.\(\*(LeveledCompactor|DB|Head)\)\.(Compact|compact|reload|truncate|Truncate|gc)|\/tsdb\/(wlog|wal|chunks)\./,
  },
  { kind: 'remote write', frame: /\/storage\/remote\./ },
  { kind: 'scrape: gunzip', frame: /^compress\/(gzip|flate)\./ },
  { kind: 'scrape: text format parsing', frame: /\/model\/textparse\./ },
  { kind: 'scrape: appending samples to the head', frame: /\/scrape\.\(\*scrapeLoop\)|\/tsdb\.\(\*headAppender\)|\/tsdb\.\(\*Head\)/ },
  { kind: 'HTTP and the rest', frame: /./ },
];

export interface ProfileShare {
  kind: string;
  cpuSeconds: number;
  share: number;
}

/** A gzipped pprof CPU profile → seconds of CPU per kind of work, largest first (kinds without time left out). */
export function cpuByKind(gzipped: Uint8Array): ProfileShare[] {
  const profile = Profile.decode(gunzipSync(gzipped));
  const strings = profile.stringTable.strings;
  const functionName = new Map(profile.function.map((f) => [Number(f.id), strings[Number(f.name)] ?? '']));
  const framesOf = new Map(profile.location.map((l) => [Number(l.id), l.line.map((line) => functionName.get(Number(line.functionId)) ?? '')]));
  // CPU profiles carry [samples, nanoseconds] per stack.
  const at = profile.sampleType.findIndex((t) => strings[Number(t.type)] === 'cpu');
  const nanos = new Map<string, number>();
  let total = 0;
  for (const sample of profile.sample) {
    const frames = sample.locationId.flatMap((id) => framesOf.get(Number(id)) ?? []);
    const { kind } = PROFILE_KINDS.find(({ frame }) => frames.some((f) => frame.test(f)))!;
    const value = Number(sample.value[at < 0 ? sample.value.length - 1 : at]);
    nanos.set(kind, (nanos.get(kind) ?? 0) + value);
    total += value;
  }
  return [...nanos].map(([kind, ns]) => ({ kind, cpuSeconds: ns / 1e9, share: total > 0 ? ns / total : 0 })).sort((a, b) => b.cpuSeconds - a.cpuSeconds);
}
