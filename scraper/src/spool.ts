import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../lib/log';
import { logOnChange } from '../../lib/log-once';
import type { LineQueue, QueueEvents } from './line-queue';
import { claimProcessLock } from './process-lock';

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
 * On start the records after the head are checked. A record whose checksum fails (a bad disk block)
 * is skipped and counted, the records after it are kept; a torn record (a crash in the middle of an
 * append) ends the scan: it is counted, the file is cut there, and the records before it replayed.
 * A record read back corrupt later is skipped and its points counted as dropped. Nothing about a
 * bad spool stops the scraper or makes it spin.
 *
 * A record is whole or absent: an append that fails part-way (a full disk: ENOSPC after a short
 * write; an I/O error at fsync) is cut off again (truncated back to the last whole record) and the
 * cycle's points are refused, counted (scraper_spool_refused_points_total) and named in /readyz,
 * while every record already spooled stays deliverable. Compaction that cannot write its copy is
 * abandoned and tried again later; the current file stays as it was.
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
  /** Points of a cycle the spool could not write (a full disk): never queued. */
  refused(points: number): void;
}

/** Writes all of `buffer` (a short write is continued, never ignored); throws what the file system says. */
function writeFully(fd: number, buffer: Buffer): void {
  for (let done = 0; done < buffer.length;) {
    const n = fs.writeSync(fd, buffer, done, buffer.length - done);
    if (n <= 0) throw Object.assign(new Error(`write made no progress at byte ${done} of ${buffer.length}`), { code: 'ESHORT' });
    done += n;
  }
}

/**
 * What the file system answered (ENOSPC, EIO, EDQUOT…): the failures the spool handles. Anything
 * else is a bug and is thrown on.
 */
function fileSystemError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') throw err;
  return code;
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
  /** Where the last whole record ends. */
  end: number;
  /** Why the scan stopped before the end of the file (a torn record), if it did. */
  torn: string | null;
  /** Where whole records failed their checksum (skipped). */
  corrupt: number[];
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

/**
 * Reads the records of `fd` from `start` to `size`. A record that fails its checksum is skipped
 * (its length still says where the next one starts); one that runs past the end is torn and ends
 * the scan.
 */
function scanRecords(fd: number, start: number, size: number, maxRecordBytes: number): ScanResult {
  const records: ScanResult['records'] = [];
  const corrupt: number[] = [];
  const header = Buffer.alloc(HEADER_BYTES);
  let at = start;
  while (at < size) {
    if (size - at < HEADER_BYTES) return { records, end: at, torn: `torn header at byte ${at}`, corrupt };
    fs.readSync(fd, header, 0, HEADER_BYTES, at);
    const length = header.readUInt32BE(0);
    if (length > maxRecordBytes || at + HEADER_BYTES + length > size) return { records, end: at, torn: `torn record at byte ${at}`, corrupt };
    const payload = Buffer.alloc(length);
    fs.readSync(fd, payload, 0, length, at + HEADER_BYTES);
    const lines = decodePayload(payload, header.readUInt32BE(4));
    if (lines) records.push({ offset: at, bytes: HEADER_BYTES + length, lines: lines.length });
    else corrupt.push(at);
    at += HEADER_BYTES + length;
  }
  return { records, end: at, torn: null, corrupt };
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
  // One process per spool: two scrapers (shards) on one SCRAPER_SPOOL_DIR would send each other's
  // points and cut each other's files.
  claimProcessLock(lockPath, 'give each scraper its own SCRAPER_SPOOL_DIR');
  const headPath = path.join(dir, `${name}.head`);
  const dataPath = (generation: number) => path.join(dir, `${name}.${generation}.spool`);
  const compactAt = Math.min(COMPACT_BYTES, Math.floor(maxBytes / 4));

  /** The head file says which data file is current and where its unsent records start; atomic. */
  function writeHead(ofGeneration: number, offset: number, durable: boolean) {
    const tmp = `${headPath}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      writeFully(fd, Buffer.from(`${ofGeneration} ${offset}\n`));
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
  if (scan.corrupt.length > 0) {
    log.warn({ file: dataPath(generation), at: scan.corrupt, kept: scan.records.length }, 'spool records fail their checksum; skipped, the rest replayed');
    stats.corrupt(scan.corrupt.length);
  }
  if (scan.torn) {
    log.warn({ file: dataPath(generation), problem: scan.torn, kept: scan.records.length }, 'spool ends in a torn record; cut off, the rest replayed');
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

  /** Why the last append failed ('' after one succeeded): refused points, a readiness reason. */
  let appendError = '';
  let refusedSinceOk = 0;
  /** An append failed and cutting it off failed too: cut before the next append. */
  let tornTail = false;
  const compactionFailures = logOnChange(log, { failed: 'spool compaction failed; the current file is kept', recovered: 'spool compaction works again' });

  /** Moves the head file on; a failure (a full disk) only means more is replayed after a crash. */
  function persistHead() {
    if (!headDirty) return;
    try {
      writeHead(generation, head, false);
      headDirty = false;
    } catch (err) {
      log.debug({ err: fileSystemError(err) }, 'spool head not moved on; tried again with the next record');
    }
  }

  /** Moves the unsent records to a new file of their own (see the top of the file). */
  function compact() {
    const next = generation + 1;
    const tmp = `${dataPath(next)}.tmp`;
    let nextFd: number | null = null;
    let renamed = false;
    try {
      nextFd = fs.openSync(tmp, 'w+');
      const chunk = Buffer.alloc(Math.min(1024 * 1024, Math.max(1, size - head)));
      for (let at = head; at < size;) {
        const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
        if (n <= 0) throw Object.assign(new Error(`spool file ends at byte ${at}, before its last record (${size})`), { code: 'ESHORT' });
        writeFully(nextFd, chunk.subarray(0, n));
        at += n;
      }
      fs.fsyncSync(nextFd);
      fs.renameSync(tmp, dataPath(next));
      renamed = true;
      fsyncDir(dir);
      writeHead(next, 0, true);
    } catch (err) {
      // The current file and head are untouched: abandon the copy, try again at the next acknowledgement.
      const message = fileSystemError(err);
      if (nextFd !== null) fs.closeSync(nextFd);
      fs.rmSync(renamed ? dataPath(next) : tmp, { force: true });
      compactionFailures.failed(message, { err: message });
      return;
    }
    compactionFailures.recovered();
    fs.closeSync(fd);
    fs.rmSync(dataPath(generation), { force: true });
    for (const r of records) r.offset -= head;
    [fd, generation, size, head, headDirty, tornTail] = [nextFd, next, size - head, 0, false, false];
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

  /**
   * Appends one record, whole or not at all: after a failure the file is cut back to the last whole
   * record, so the offsets of the records (and of every later append) stay true.
   */
  function append(record: Buffer): boolean {
    try {
      if (tornTail) {
        fs.ftruncateSync(fd, size);
        tornTail = false;
      }
      writeFully(fd, record);
      fs.fsyncSync(fd);
      return true;
    } catch (err) {
      appendError = fileSystemError(err);
      try {
        fs.ftruncateSync(fd, size);
      } catch (cutErr) {
        fileSystemError(cutErr);
        tornTail = true;
      }
      return false;
    }
  }

  /**
   * A record's lines, read back from disk while it is being handed out. One that fails its checksum
   * now (the disk changed it since it was written) is given up on: its unsent points are counted as
   * dropped and it yields no lines, so the cursors move past it.
   */
  function linesOf(r: SpoolRecord, index: number): string[] {
    if (r.decoded) return r.decoded;
    let lines: string[] | null = null;
    try {
      const buf = Buffer.alloc(r.bytes);
      if (fs.readSync(fd, buf, 0, r.bytes, r.offset) === r.bytes) lines = decodePayload(buf.subarray(HEADER_BYTES), buf.readUInt32BE(4));
    } catch (err) {
      log.warn({ err: fileSystemError(err), offset: r.offset }, 'spool record unreadable');
    }
    if (lines && lines.length === r.lines) return (r.decoded = lines);
    // Only its accepted lines (record 0) remain; placeholders keep the line cursors as they were.
    const kept = index === 0 ? acceptedInFirst : 0;
    log.warn({ offset: r.offset, points: r.lines - kept }, 'spool record corrupt on disk; its points are dropped');
    stats.corrupt(1);
    stats.dropped(r.lines - kept);
    totalLines -= r.lines - kept;
    r.lines = kept;
    return (r.decoded = new Array<string>(kept).fill(''));
  }

  return {
    push(lines) {
      if (lines.length === 0) return true;
      const record = encodeRecord(lines);
      if (record.length > maxBytes) {
        log.warn({ bytes: record.length, maxBytes }, 'one cycle is larger than SCRAPER_SPOOL_MAX_BYTES; its points are dropped');
        stats.dropped(lines.length);
        return false;
      }
      makeRoom(record.length);
      if (!append(record)) {
        if (refusedSinceOk === 0) log.error({ err: appendError, file: dataPath(generation) }, 'spool cannot write; new points are refused until it can');
        refusedSinceOk += lines.length;
        stats.refused(lines.length);
        return false;
      }
      if (refusedSinceOk > 0) log.info({ refused: refusedSinceOk }, 'spool writes again');
      appendError = '';
      refusedSinceOk = 0;
      records.push({ offset: size, bytes: record.length, lines: lines.length, replayed: false });
      size += record.length;
      totalLines += lines.length;
      persistHead();
      report();
      return true;
    },
    take(max) {
      const out: string[] = [];
      while (out.length < max && sendRec < records.length) {
        const r = records[sendRec]!;
        const lines = linesOf(r, sendRec);
        const n = Math.min(max - out.length, lines.length - sendLine);
        for (let i = sendLine; i < sendLine + n; i++) out.push(lines[i]!);
        sendLine += n;
        sentLines += n;
        if (sendLine >= lines.length) {
          // Handed out whole: a rewind reads it from disk again, so only one record is held in memory.
          r.decoded = undefined;
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
      while (records.length > 0 && (n > 0 || records[0]!.lines === acceptedInFirst)) {
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
    problem: () => (refusedSinceOk > 0 ? `spool cannot write (${appendError}): ${refusedSinceOk} new points refused` : null),
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
    help: 'Torn or corrupt spool records (skipped; their points are counted as dropped when read back corrupt)',
    labelNames,
    registers,
  });
  const refused = new Counter({
    name: 'scraper_spool_refused_points_total',
    help: 'Points the spool could not write (a full disk, an I/O error): refused, never queued',
    labelNames,
    registers,
  });
  return (sink, dropped) => {
    const labels = { sink };
    for (const c of [replayed, corrupt, refused]) c.inc(labels, 0);
    return {
      bytes: (n) => bytes.set(labels, n),
      replayed: (n) => replayed.inc(labels, n),
      corrupt: (n) => corrupt.inc(labels, n),
      refused: (n) => refused.inc(labels, n),
      dropped,
    };
  };
}
