import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log';
import type { LineQueue, QueueEvents } from './line-queue';

/**
 * A sink's durable FIFO (SCRAPER_SPOOL_DIR): one append-only file per sink, one record per cycle.
 *
 * Record: u32 payload length, u32 CRC32 of the payload (both big-endian), payload = the cycle's lines
 * as a JSON array. A push is written and fsynced before it returns, so what the sink calls buffered
 * survives a crash, an OOM kill or a reboot. Accepted records are not rewritten: a head offset in the
 * sidecar `<sink>.head` ("<generation> <offset>") says where the unsent ones start, so an
 * acknowledgement costs one small rename, not an fsync. A crash between a store accepting a record
 * and the head moving past it sends that record again on the next start; both stores key a point
 * by series and timestamp, so the repeat overwrites itself.
 *
 * Compaction copies the unsent tail into `<sink>.<generation+1>.spool.tmp`, fsyncs it, renames it
 * to `<sink>.<generation+1>.spool` and fsyncs the directory, then replaces the head (fsynced, and
 * the directory again) and only then deletes the old file. So a `<sink>.<n>.spool` is always
 * whole, and the newest one holds every record the store has not accepted: with a missing, empty or
 * corrupt head (a power cut, a user's `rm`) the spool adopts the newest generation present and
 * replays it from its start; what was accepted already is sent again, which both stores absorb.
 * With a readable head, other generations are leftovers of an interrupted compaction and go.
 * A head that only moves past accepted records is renamed into place without an fsync: if a
 * power cut undoes it, more is replayed, nothing is lost.
 *
 * On start the records after the head are checked; a torn or corrupt record (a crash in the middle
 * of an append, a bad disk block) ends the scan: it is counted, the file is cut there, and the
 * records before it are replayed. Nothing about a bad spool stops the scraper.
 */

const HEADER_BYTES = 8;
/** Acknowledged bytes kept before the file is compacted (smaller for a small bound). */
const COMPACT_BYTES = 1024 * 1024;
/** Having dropped records for the bound, drop down to this share of it, so compaction is rare. */
const DROP_TO = 0.75;

export interface SpoolStats extends QueueEvents {
  /** Bytes of records not yet accepted by the store. */
  bytes(bytes: number): void;
  /** Points from a previous run that the store has now accepted. */
  replayed(points: number): void;
  corrupt(records: number): void;
}

export function encodeRecord(lines: readonly string[]): Buffer {
  const payload = Buffer.from(JSON.stringify(lines));
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32BE(payload.length, 0);
  header.writeUInt32BE(crc32(payload), 4);
  return Buffer.concat([header, payload]);
}

interface SpoolRecord {
  /** Byte offset in the current data file. */
  offset: number;
  bytes: number;
  lines: number;
  /** Found on disk at start: a previous run's points. */
  replayed: boolean;
  /** The lines while the record is being handed out. */
  decoded?: string[];
}

interface ScanResult {
  records: Array<{ offset: number; bytes: number; lines: number }>;
  /** Where the last good record ends. */
  end: number;
  /** Why the scan stopped before the end of the file, if it did. */
  corrupt: string | null;
}

function decodePayload(payload: Buffer, crc: number): string[] | null {
  if (crc32(payload) !== crc) return null;
  try {
    const lines: unknown = JSON.parse(payload.toString('utf8'));
    return Array.isArray(lines) && lines.every((l) => typeof l === 'string') ? (lines as string[]) : null;
  } catch {
    return null;
  }
}

/** Reads the records of `fd` from `start` to `size`, stopping at the first torn or corrupt one. */
function scanRecords(fd: number, start: number, size: number, maxRecordBytes: number): ScanResult {
  const records: ScanResult['records'] = [];
  const header = Buffer.alloc(HEADER_BYTES);
  let at = start;
  while (at < size) {
    if (size - at < HEADER_BYTES) return { records, end: at, corrupt: `torn header at byte ${at}` };
    fs.readSync(fd, header, 0, HEADER_BYTES, at);
    const length = header.readUInt32BE(0);
    if (length > maxRecordBytes || at + HEADER_BYTES + length > size) return { records, end: at, corrupt: `torn record at byte ${at}` };
    const payload = Buffer.alloc(length);
    fs.readSync(fd, payload, 0, length, at + HEADER_BYTES);
    const lines = decodePayload(payload, header.readUInt32BE(4));
    if (!lines) return { records, end: at, corrupt: `bad checksum or payload at byte ${at}` };
    records.push({ offset: at, bytes: HEADER_BYTES + length, lines: lines.length });
    at += HEADER_BYTES + length;
  }
  return { records, end: at, corrupt: null };
}

/**
 * One process per spool: two scrapers (shards) on one SCRAPER_SPOOL_DIR would send each other's
 * points and cut each other's files. The lock names its process; one that no longer runs (a crash,
 * a SIGKILL) leaves a lock that the next start takes over.
 */
function claim(lockPath: string): void {
  let holder = NaN;
  try {
    holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (Number.isInteger(holder) && holder > 0 && holder !== process.pid) {
    let alive = true;
    try {
      process.kill(holder, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (alive) throw new Error(`spool ${lockPath} is held by running process ${holder}: give each scraper its own SCRAPER_SPOOL_DIR`);
  }
  fs.writeFileSync(lockPath, `${process.pid}\n`);
}

export interface SpoolOptions {
  dir: string;
  /** One spool per sink: the file names. */
  name: string;
  /** The bound on the data file; beyond it the oldest records are dropped and counted. */
  maxBytes: number;
}

/** Makes the directory's entries (a created, renamed or deleted file) survive a power cut. */
function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** `<generation> <offset>` and its newline (a torn write lacks it), or null when missing or unreadable. */
function readHead(headPath: string): { generation: number; offset: number } | 'missing' | 'unreadable' {
  let text: string;
  try {
    text = fs.readFileSync(headPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  const m = /^(\d+) (\d+)\n$/.exec(text);
  return m ? { generation: Number(m[1]), offset: Number(m[2]) } : 'unreadable';
}

/** Opens (or creates) the spool of one sink and returns it as the sink's queue; replays what it holds. */
export function openSpool(options: SpoolOptions, stats: SpoolStats, log: Logger): LineQueue {
  const { dir, name, maxBytes } = options;
  fs.mkdirSync(dir, { recursive: true });
  const lockPath = path.join(dir, `${name}.lock`);
  claim(lockPath);
  const headPath = path.join(dir, `${name}.head`);
  const dataPath = (generation: number) => path.join(dir, `${name}.${generation}.spool`);
  const compactAt = Math.min(COMPACT_BYTES, Math.floor(maxBytes / 4));

  /** The head file says which data file is current and where its unsent records start; atomic. */
  function writeHead(ofGeneration: number, offset: number, durable: boolean) {
    const tmp = `${headPath}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, `${ofGeneration} ${offset}\n`);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, headPath);
    if (durable) fsyncDir(dir);
  }

  const generationFile = new RegExp(`^${name}\\.(\\d+)\\.spool$`);
  const generations = fs
    .readdirSync(dir)
    .map((file) => generationFile.exec(file))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const found = readHead(headPath);
  let generation: number;
  let head: number;
  if (typeof found === 'object' && generations.includes(found.generation)) {
    ({ generation, offset: head } = found);
  } else {
    // The newest generation holds every unsent record (see the top of the file); never pick an older one.
    generation = generations.at(-1) ?? 0;
    head = 0;
    if (found !== 'missing' || generations.length > 0) {
      log.warn({ file: headPath, head: found, generation }, 'spool head missing or unreadable; replaying the newest spool file whole');
      stats.corrupt(1);
    }
  }
  let fd = fs.openSync(dataPath(generation), 'a+');
  fs.fsyncSync(fd);
  // The head names the adopted file before anything else is deleted.
  if (typeof found !== 'object' || found.generation !== generation) writeHead(generation, head, true);
  // Left over from a compaction that a crash interrupted, before or after its head moved.
  for (const file of fs.readdirSync(dir)) {
    const m = generationFile.exec(file);
    if ((m && Number(m[1]) !== generation) || file === `${name}.head.tmp` || (file.startsWith(`${name}.`) && file.endsWith('.spool.tmp'))) {
      fs.rmSync(path.join(dir, file), { force: true });
    }
  }
  fsyncDir(dir);

  let headDirty = false;
  let size = fs.fstatSync(fd).size;
  if (head > size) {
    log.warn({ head, size }, 'spool head beyond the end of its file; replaying the whole file');
    stats.corrupt(1);
    head = 0;
  }
  const scan = scanRecords(fd, head, size, maxBytes);
  if (scan.corrupt) {
    log.warn(
      { file: dataPath(generation), problem: scan.corrupt, kept: scan.records.length },
      'spool has a torn or corrupt record; skipped, the rest replayed',
    );
    stats.corrupt(1);
    fs.ftruncateSync(fd, scan.end);
    fs.fsyncSync(fd);
    size = scan.end;
  }
  const records: SpoolRecord[] = scan.records.map((r) => ({ ...r, replayed: true }));
  let totalLines = records.reduce((sum, r) => sum + r.lines, 0);
  if (records.length > 0) log.info({ records: records.length, points: totalLines }, 'spool: replaying points from the previous run');

  // The FIFO cursors: records[0] is at `head`; `acceptedInFirst` of its lines are stored already;
  // the send cursor is at line `sendLine` of records[sendRec], `sentLines` lines from records[0]'s start.
  let acceptedInFirst = 0;
  let sendRec = 0;
  let sendLine = 0;
  let sentLines = 0;
  // Handed-out lines of records dropped for the bound: their acknowledgements are skipped.
  let phantom = 0;

  const report = () => stats.bytes(size - head);
  report();

  function persistHead() {
    if (!headDirty) return;
    writeHead(generation, head, false);
    headDirty = false;
  }

  /** Moves the unsent records to a new file of their own (see the top of the file). */
  function compact() {
    const next = generation + 1;
    const tmp = `${dataPath(next)}.tmp`;
    const nextFd = fs.openSync(tmp, 'w+');
    const chunk = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, size - head)));
    for (let at = head; at < size;) {
      const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
      fs.writeSync(nextFd, chunk, 0, n);
      at += n;
    }
    fs.fsyncSync(nextFd);
    fs.renameSync(tmp, dataPath(next));
    fsyncDir(dir);
    writeHead(next, 0, true);
    fs.closeSync(fd);
    fs.rmSync(dataPath(generation), { force: true });
    for (const r of records) r.offset -= head;
    [fd, generation, size, head, headDirty] = [nextFd, next, size - head, 0, false];
  }

  const maybeCompact = () => {
    if (head >= compactAt && head >= size / 2) compact();
  };

  function dropOldest() {
    const r = records.shift()!;
    const inFlight = Math.max(0, Math.min(sentLines, r.lines) - acceptedInFirst);
    phantom += inFlight;
    stats.dropped(r.lines - acceptedInFirst);
    if (sendRec > 0) sendRec--;
    else sendLine = 0;
    sentLines = Math.max(0, sentLines - r.lines);
    totalLines -= r.lines;
    acceptedInFirst = 0;
    head = r.offset + r.bytes;
    headDirty = true;
  }

  function makeRoom(bytes: number) {
    if (size + bytes <= maxBytes) return;
    let dropped = 0;
    while (records.length > 0 && size - head + bytes > maxBytes * DROP_TO) {
      dropped += records[0]!.lines - acceptedInFirst;
      dropOldest();
    }
    if (dropped > 0) log.warn({ dropped, maxBytes }, 'spool full; oldest points dropped');
    compact();
  }

  function linesOf(r: SpoolRecord): string[] {
    if (!r.decoded) {
      const buf = Buffer.alloc(r.bytes);
      fs.readSync(fd, buf, 0, r.bytes, r.offset);
      // Checked when written or scanned; a disk that changes it since is beyond what a spool can mend.
      r.decoded = decodePayload(buf.subarray(HEADER_BYTES), buf.readUInt32BE(4)) ?? [];
    }
    return r.decoded;
  }

  return {
    push(lines) {
      if (lines.length === 0) return;
      const record = encodeRecord(lines);
      if (record.length > maxBytes) {
        log.warn({ bytes: record.length, maxBytes }, 'one cycle is larger than SCRAPER_SPOOL_MAX_BYTES; its points are dropped');
        stats.dropped(lines.length);
        return;
      }
      makeRoom(record.length);
      fs.writeSync(fd, record);
      fs.fsyncSync(fd);
      records.push({ offset: size, bytes: record.length, lines: lines.length, replayed: false });
      size += record.length;
      totalLines += lines.length;
      persistHead();
      report();
    },
    take(max) {
      const out: string[] = [];
      while (out.length < max && sendRec < records.length) {
        const r = records[sendRec]!;
        const lines = linesOf(r);
        const n = Math.min(max - out.length, lines.length - sendLine);
        for (let i = sendLine; i < sendLine + n; i++) out.push(lines[i]!);
        sendLine += n;
        sentLines += n;
        if (sendLine >= lines.length) {
          sendRec++;
          sendLine = 0;
        }
      }
      return out;
    },
    accepted(count) {
      const skipped = Math.min(count, phantom);
      phantom -= skipped;
      let n = count - skipped;
      while (n > 0 && records.length > 0) {
        const first = records[0]!;
        const k = Math.min(n, first.lines - acceptedInFirst);
        acceptedInFirst += k;
        n -= k;
        if (acceptedInFirst < first.lines) break;
        records.shift();
        if (first.replayed) stats.replayed(first.lines);
        totalLines -= first.lines;
        sentLines = Math.max(0, sentLines - first.lines);
        sendRec = Math.max(0, sendRec - 1);
        acceptedInFirst = 0;
        head = first.offset + first.bytes;
        headDirty = true;
      }
      maybeCompact();
      report();
    },
    rewind() {
      phantom = 0;
      sendRec = 0;
      sendLine = acceptedInFirst;
      sentLines = acceptedInFirst;
    },
    get length() {
      return totalLines - acceptedInFirst;
    },
    get unsent() {
      return totalLines - sentLines;
    },
    close() {
      persistHead();
      fs.closeSync(fd);
      fs.rmSync(lockPath, { force: true });
    },
  };
}

/** scraper_spool_* (per sink), next to the scraper_* sink metrics of docs/metrics.md. */
export function registerSpoolMetrics(registry: Registry): (sink: string, dropped: (points: number) => void) => SpoolStats {
  const registers = [registry];
  const labelNames = ['sink'] as const;
  const bytes = new Gauge({ name: 'scraper_spool_bytes', help: 'Bytes of spooled records the store has not accepted yet', labelNames, registers });
  const replayed = new Counter({
    name: 'scraper_spool_replayed_points_total',
    help: 'Points spooled by a previous run and accepted by the store after this start',
    labelNames,
    registers,
  });
  const corrupt = new Counter({
    name: 'scraper_spool_corrupt_records_total',
    help: 'Torn or corrupt spool records found at start (skipped)',
    labelNames,
    registers,
  });
  return (sink, dropped) => {
    const labels = { sink };
    replayed.inc(labels, 0);
    corrupt.inc(labels, 0);
    return {
      bytes: (n) => bytes.set(labels, n),
      replayed: (n) => replayed.inc(labels, n),
      corrupt: (n) => corrupt.inc(labels, n),
      dropped,
    };
  };
}
