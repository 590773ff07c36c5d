import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createLogger } from '../../lib/log';
import { readProcStat } from '../../lib/proc-stat';
import { createMemoryQueue } from '../../scraper/src/line-queue';
import { currentIdentity, formatIdentity, parseIdentity } from '../../scraper/src/process-lock';
import { encodeRecord, openSpool, type SpoolStats } from '../../scraper/src/spool';
import { eventually } from '../support/services';

const log = createLogger('test', 'silent');

function recordingStats() {
  const counts = { bytes: 0, replayed: 0, corrupt: 0, dropped: 0, refused: 0 };
  const stats: SpoolStats = {
    bytes: (n) => (counts.bytes = n),
    replayed: (n) => (counts.replayed += n),
    corrupt: (n) => (counts.corrupt += n),
    dropped: (n) => (counts.dropped += n),
    refused: (n) => (counts.refused += n),
  };
  return { counts, stats };
}

const cycle = (n: number, width = 3) => Array.from({ length: width }, (_, i) => `stocks.SBER.last ${n}.${i} ${1_700_000_000 + n}`);

describe('spool', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-test-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const open = (maxBytes = 1 << 20) => {
    const { counts, stats } = recordingStats();
    return { counts, queue: openSpool({ dir, name: 'graphite', maxBytes }, stats, log) };
  };
  const dataFile = () =>
    path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith('.spool'))!,
    );

  test('record format: u32 length, u32 CRC32, JSON lines; what is pushed is on disk before push returns', () => {
    const { queue, counts } = open();
    queue.push(cycle(1));
    const bytes = fs.readFileSync(dataFile());
    assert.deepEqual(bytes, encodeRecord(cycle(1)));
    assert.equal(bytes.readUInt32BE(0), bytes.length - 8);
    assert.deepEqual(JSON.parse(bytes.subarray(8).toString()), cycle(1));
    assert.equal(counts.bytes, bytes.length);
    queue.close();
  });

  test('FIFO across records: take, partial acceptance, rewind hands out the same lines again in order', () => {
    const { queue } = open();
    queue.push(cycle(1));
    queue.push(cycle(2));
    assert.equal(queue.length, 6);
    assert.deepEqual(queue.take(4), [...cycle(1), cycle(2)[0]]);
    queue.accepted(2);
    assert.equal(queue.length, 4);
    queue.rewind();
    assert.equal(queue.unsent, 4);
    assert.deepEqual(queue.take(10), [cycle(1)[2], ...cycle(2)]);
    queue.accepted(4);
    assert.equal(queue.length, 0);
    queue.close();
  });

  test('restart: unsent records replayed in order; accepted ones are not; replayed counted when the store takes them', () => {
    let { queue, counts } = open();
    for (let n = 1; n <= 4; n++) queue.push(cycle(n));
    queue.take(6);
    queue.accepted(6); // records 1 and 2 stored
    queue.take(2); // record 3 in flight when the process dies
    queue.close();

    ({ queue, counts } = open());
    assert.equal(queue.length, 6);
    const lines = queue.take(100);
    assert.deepEqual(lines, [...cycle(3), ...cycle(4)]);
    assert.equal(counts.replayed, 0);
    queue.accepted(lines.length);
    assert.equal(counts.replayed, 6);
    queue.push(cycle(5));
    queue.accepted(queue.take(100).length);
    assert.equal(counts.replayed, 6, 'this run’s own points are not replays');
    queue.close();
  });

  test('a file cut in the middle of a record: one corrupt record counted, the ones before it replayed, never fatal', () => {
    let { queue, counts } = open();
    for (let n = 1; n <= 3; n++) queue.push(cycle(n));
    queue.close();
    const file = dataFile();
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 10);

    ({ queue, counts } = open());
    assert.equal(counts.corrupt, 1);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(2)]);
    assert.equal(fs.statSync(file).size, 2 * encodeRecord(cycle(1)).length, 'the torn tail is cut off');
    // Appends go after the good records.
    queue.push(cycle(9));
    queue.close();
    ({ queue, counts } = open());
    assert.equal(counts.corrupt, 0);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(2), ...cycle(9)]);
    queue.close();
  });

  test('a flipped byte fails the checksum: that record counted and skipped, the records before and after it kept', () => {
    let { queue, counts } = open();
    for (let n = 1; n <= 3; n++) queue.push(cycle(n));
    queue.close();
    const file = dataFile();
    const bytes = fs.readFileSync(file);
    const second = encodeRecord(cycle(1)).length;
    bytes.writeUInt8(bytes.readUInt8(second + 12) ^ 0xff, second + 12);
    fs.writeFileSync(file, bytes);
    ({ queue, counts } = open());
    assert.equal(counts.corrupt, 1);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(3)]);
    queue.close();
  });

  test('bounded: the oldest records are dropped and counted, the file stays under SCRAPER_SPOOL_MAX_BYTES', () => {
    const recordBytes = encodeRecord(cycle(10)).length;
    const maxBytes = recordBytes * 10;
    const { queue, counts } = open(maxBytes);
    for (let n = 10; n < 40; n++) {
      queue.push(cycle(n));
      assert.ok(fs.statSync(dataFile()).size <= maxBytes, `file ${fs.statSync(dataFile()).size} > ${maxBytes}`);
    }
    assert.ok(counts.dropped > 0);
    assert.equal(counts.dropped + queue.length, 30 * 3, 'every point is either queued or counted as dropped');
    const lines = queue.take(1000);
    assert.deepEqual(lines.slice(-3), cycle(39), 'the newest are kept');
    assert.deepEqual(
      lines,
      lines.slice().sort((a, b) => Number(a.split(' ')[2]) - Number(b.split(' ')[2])),
      'in order',
    );
    queue.close();
  });

  test('dropping a record that is in flight: its late acknowledgement does not swallow newer lines', () => {
    const recordBytes = encodeRecord(cycle(10)).length;
    const { queue, counts } = open(recordBytes * 4);
    queue.push(cycle(10));
    const inFlight = queue.take(3);
    for (let n = 11; n < 16; n++) queue.push(cycle(n));
    assert.ok(counts.dropped >= 3);
    queue.accepted(inFlight.length); // the store took the dropped record after all
    const rest = queue.take(1000);
    assert.equal(rest.length, queue.length, 'nothing newer was acknowledged by mistake');
    assert.deepEqual(rest.slice(-3), cycle(15));
    queue.close();
  });

  test('compaction: once the store has taken a megabyte the file starts over; a reopen sees only unsent records', () => {
    let { queue } = open(64 << 20);
    const wide = (n: number) => cycle(n, 400); // ~20 KB per record
    for (let n = 0; n < 80; n++) {
      queue.push(wide(n));
      queue.accepted(queue.take(1000).length);
    }
    queue.push(wide(1000));
    assert.ok(fs.statSync(dataFile()).size < 1.1 * (1 << 20), `compacted: ${fs.statSync(dataFile()).size}`);
    assert.ok(!fs.existsSync(path.join(dir, 'graphite.0.spool')), 'the first generation is gone');
    queue.close();
    ({ queue } = open(64 << 20));
    assert.deepEqual(queue.take(1000), wide(1000));
    queue.close();
  });

  test('a truncated head after a compaction: the live file is kept and all 800 unacknowledged lines wait (issue 20)', () => {
    let { queue, counts } = open(64 << 20);
    const wide = (n: number) => cycle(n, 400);
    for (let n = 0; n < 80; n++) {
      queue.push(wide(n));
      queue.accepted(queue.take(1000).length);
    }
    queue.push(wide(100));
    queue.push(wide(101));
    assert.ok(fs.existsSync(path.join(dir, 'graphite.1.spool')), 'compacted to generation 1');
    queue.close();
    fs.truncateSync(path.join(dir, 'graphite.head'), 0);

    ({ queue, counts } = open(64 << 20));
    // Without a head the accepted records of generation 1 come again too: the stores absorb repeats.
    const waiting = queue.length;
    assert.ok(waiting >= 800, `${waiting} lines waiting`);
    assert.deepEqual(queue.take(waiting).slice(-800), [...wide(100), ...wide(101)]);
    assert.equal(counts.corrupt, 1, 'the unreadable head is counted');
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.spool')),
      ['graphite.1.spool'],
    );
    queue.close();
    // The adopted file is named by a new head: the next start reads it as usual.
    ({ queue, counts } = open(64 << 20));
    assert.equal(queue.length, waiting);
    assert.equal(counts.corrupt, 0);
    queue.close();
  });

  test('a deleted head with two generations left by a crash: the newer one is adopted, not the older', () => {
    let { queue } = open();
    queue.push(cycle(1));
    queue.close();
    // A compaction that a crash stopped after its new file was renamed into place, and then the head lost.
    fs.copyFileSync(path.join(dir, 'graphite.0.spool'), path.join(dir, 'graphite.1.spool'));
    fs.appendFileSync(path.join(dir, 'graphite.1.spool'), encodeRecord(cycle(2)));
    fs.rmSync(path.join(dir, 'graphite.head'));
    ({ queue } = open());
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(2)]);
    assert.ok(!fs.existsSync(path.join(dir, 'graphite.0.spool')));
    queue.close();
  });

  test('durability order: a new file is fsynced with its directory; compaction fsyncs the copy, renames it, fsyncs the head, then deletes the old file', (t) => {
    const calls: string[] = [];
    const name = (p: fs.PathLike) => path.relative(dir, String(p)) || '.';
    const fdNames = new Map<number, string>();
    const realOpen = fs.openSync.bind(fs) as (p: fs.PathLike, flags?: fs.OpenMode) => number;
    t.mock.method(fs, 'openSync', (p: fs.PathLike, flags?: fs.OpenMode) => {
      const fd = realOpen(p, flags);
      fdNames.set(fd, name(p));
      return fd;
    });
    const realFsync = fs.fsyncSync.bind(fs);
    t.mock.method(fs, 'fsyncSync', (fd: number) => {
      calls.push(`fsync ${fdNames.get(fd)}`);
      realFsync(fd);
    });
    const realRename = fs.renameSync.bind(fs);
    t.mock.method(fs, 'renameSync', (a: fs.PathLike, b: fs.PathLike) => {
      calls.push(`rename ${name(a)} ${name(b)}`);
      realRename(a, b);
    });
    const realRm = fs.rmSync.bind(fs);
    t.mock.method(fs, 'rmSync', (p: fs.PathLike, o?: fs.RmOptions) => {
      calls.push(`rm ${name(p)}`);
      realRm(p, o);
    });

    const { queue } = open(4096); // compaction once 1 KB is accepted
    assert.deepEqual(calls, ['fsync graphite.0.spool', 'fsync graphite.head.tmp', 'rename graphite.head.tmp graphite.head', 'fsync .', 'fsync .']);
    calls.length = 0;
    for (let n = 0; n < 40 && !fs.existsSync(path.join(dir, 'graphite.1.spool')); n++) {
      queue.push(cycle(n));
      queue.accepted(queue.take(100).length);
    }
    const compaction = calls.slice(calls.indexOf('fsync graphite.1.spool.tmp'));
    assert.deepEqual(compaction, [
      'fsync graphite.1.spool.tmp',
      'rename graphite.1.spool.tmp graphite.1.spool',
      'fsync .',
      'fsync graphite.head.tmp',
      'rename graphite.head.tmp graphite.head',
      'fsync .',
      'rm graphite.0.spool',
    ]);
    queue.close();
  });

  test('one process per spool: a running holder refuses, a dead one’s lock is taken over, close releases it', () => {
    const lock = path.join(dir, 'graphite.lock');
    fs.writeFileSync(lock, formatIdentity(currentIdentity(process.ppid))); // the test runner: alive
    assert.throws(() => open(), /held by running process .*own SCRAPER_SPOOL_DIR/);
    fs.writeFileSync(lock, `${process.ppid}\n`); // an earlier version's bare pid, alive: still respected
    assert.throws(() => open(), /held by running process/);
    fs.writeFileSync(lock, '99999999\n'); // beyond any pid_max: no such process
    const { queue } = open();
    assert.equal(parseIdentity(fs.readFileSync(lock, 'utf8'))!.pid, process.pid);
    queue.close();
    assert.ok(!fs.existsSync(lock));
  });

  test('a reused pid is not the holder: a lock naming a live pid with another start time or boot is taken over', () => {
    const lock = path.join(dir, 'graphite.lock');
    const runner = currentIdentity(process.ppid);
    assert.ok(runner.startTime && runner.bootId, 'Linux /proc tells start time and boot id');
    fs.writeFileSync(lock, formatIdentity({ ...runner, startTime: String(Number(runner.startTime) + 1) })); // after a restart, same pid
    open().queue.close();
    fs.writeFileSync(lock, formatIdentity({ ...runner, bootId: '00000000-0000-0000-0000-000000000000' })); // after a reboot
    open().queue.close();
  });

  test('a SIGKILLed holder not yet reaped (a zombie, which kill(pid, 0) still finds) is not the holder', async () => {
    // `sleep 0` exits at once; its parent execs `sleep 30`, which never reaps it: a zombie for 30 s.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
      const zombie = Number(line.toString().trim());
      await eventually(async () => readProcStat(zombie)?.state === 'Z', 5_000, 'the child turned zombie');
      process.kill(zombie, 0); // alive as far as signals go
      const lock = path.join(dir, 'graphite.lock');
      fs.writeFileSync(lock, formatIdentity(currentIdentity(zombie)));
      assert.equal(parseIdentity(fs.readFileSync(lock, 'utf8'))!.startTime, readProcStat(zombie)!.startTime, 'the lock names that very process');
      const { queue } = open();
      assert.equal(parseIdentity(fs.readFileSync(lock, 'utf8'))!.pid, process.pid);
      queue.close();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  test('a short write then ENOSPC: the cycle is refused and counted, the file is cut back, later cycles and a reopen see whole records only', (t) => {
    let { queue, counts } = open();
    queue.push(cycle(1));
    const sizeBefore = fs.statSync(dataFile()).size;
    const realWrite = fs.writeSync.bind(fs) as (fd: number, b: Buffer, o: number, l: number) => number;
    let full = true;
    t.mock.method(fs, 'writeSync', (fd: number, buffer: Buffer, offset = 0, length = buffer.length - offset) => {
      if (!full || length < 16) return realWrite(fd, buffer, offset, length);
      if (offset === 0) return realWrite(fd, buffer, 0, 10); // the kernel took 10 bytes
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    assert.equal(queue.push(cycle(2)), false);
    assert.equal(counts.refused, 3);
    assert.match(queue.problem()!, /ENOSPC.*3 new points refused/);
    assert.equal(fs.statSync(dataFile()).size, sizeBefore, 'the partial record is cut off');
    full = false;
    assert.equal(queue.push(cycle(3)), true);
    assert.equal(queue.problem(), null);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(3)]);
    queue.close();
    ({ queue, counts } = open());
    assert.equal(counts.corrupt, 0);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(3)]);
    queue.close();
  });

  test('a record corrupted on disk after it was written: skipped and its points dropped when read, the queue never spins on it', () => {
    const { queue, counts } = open();
    for (let n = 1; n <= 3; n++) queue.push(cycle(n));
    const file = dataFile();
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, Buffer.from('X'), 0, 1, encodeRecord(cycle(1)).length + 12); // inside the second record's payload
    fs.closeSync(fd);
    assert.deepEqual(queue.take(100), [...cycle(1), ...cycle(3)]);
    assert.equal(queue.unsent, 0);
    assert.equal(counts.corrupt, 1);
    assert.equal(counts.dropped, 3);
    queue.accepted(6);
    assert.equal(queue.length, 0);
    queue.close();
  });

  test('compaction that cannot write its copy (ENOSPC) is abandoned: the current file stays whole, acknowledgements go on, a later compaction succeeds', (t) => {
    const { queue } = open(4096); // compaction once 1 KB is accepted
    const realWrite = fs.writeSync.bind(fs) as (fd: number, b: Buffer, o: number, l: number) => number;
    let copyFails = true;
    const realOpen = fs.openSync.bind(fs) as (p: fs.PathLike, flags?: fs.OpenMode) => number;
    const tmpFds = new Set<number>();
    t.mock.method(fs, 'openSync', (p: fs.PathLike, flags?: fs.OpenMode) => {
      const fd = realOpen(p, flags);
      if (String(p).endsWith('.spool.tmp')) tmpFds.add(fd);
      else tmpFds.delete(fd); // a number used again
      return fd;
    });
    t.mock.method(fs, 'writeSync', (fd: number, buffer: Buffer, offset = 0, length = buffer.length - offset) => {
      if (copyFails && tmpFds.has(fd)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return realWrite(fd, buffer, offset, length);
    });
    // Each round the store takes all but the newest cycle: compaction has a tail to copy.
    const round = (n: number) => {
      queue.push(cycle(n));
      const handed = queue.take(100).length;
      queue.accepted(handed - 3);
      queue.rewind();
    };
    let n = 0;
    for (; n < 40; n++) round(n);
    assert.ok(tmpFds.size > 0, 'compaction was tried');
    assert.ok(
      fs.existsSync(path.join(dir, 'graphite.0.spool')) && !fs.readdirSync(dir).some((f) => f.includes('.tmp') || f === 'graphite.1.spool'),
      `no copy left behind: ${fs.readdirSync(dir).join(' ')}`,
    );
    copyFails = false;
    for (; n < 80 && !fs.existsSync(path.join(dir, 'graphite.1.spool')); n++) round(n);
    assert.ok(fs.existsSync(path.join(dir, 'graphite.1.spool')), 'compacted once there is room');
    assert.deepEqual(queue.take(100), cycle(n - 1), 'the unacknowledged tail survived every attempt');
    queue.close();
  });

  test('a compaction interrupted before the head moved: the stray new file is removed, nothing is lost', () => {
    let { queue } = open();
    queue.push(cycle(1));
    queue.close();
    fs.writeFileSync(path.join(dir, 'graphite.1.spool'), 'half-written');
    ({ queue } = open());
    assert.deepEqual(queue.take(100), cycle(1));
    assert.ok(!fs.existsSync(path.join(dir, 'graphite.1.spool')));
    queue.close();
  });
});

describe('memory queue (no SCRAPER_SPOOL_DIR)', () => {
  test('bounds the lines waiting to be sent; the oldest of them are dropped; lines in flight or held for a resend do not count', () => {
    let dropped = 0;
    const queue = createMemoryQueue(5, { dropped: (n) => (dropped += n) });
    queue.push(['a', 'b', 'c']);
    assert.deepEqual(queue.take(2), ['a', 'b']);
    queue.push(['d', 'e', 'f', 'g', 'h', 'i']);
    assert.equal(dropped, 2, 'c and d: 7 waiting against a bound of 5');
    queue.rewind();
    assert.deepEqual(queue.take(10), ['a', 'b', 'e', 'f', 'g', 'h', 'i']);
    queue.accepted(7);
    assert.equal(queue.length, 0);
  });
});
