import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, mock, test } from 'node:test';
import fc from 'fast-check';
import { createLogger } from '../../lib/log';
import type { LineQueue } from '../../scraper/src/line-queue';
import { openSpool, type SpoolStats } from '../../scraper/src/spool';

/**
 * Model-based test of the spool's recovery: random histories of push / take / accept / rewind /
 * close, with crashes between operations and inside them (at any file-system step: a torn append,
 * a half-done compaction, a head half replaced), followed by what a power cut can do to the head
 * (torn, deleted). Checked against an in-memory FIFO: between crashes the spool hands out exactly
 * what the FIFO says; after every recovery each line pushed and not acknowledged is there, once, in
 * push order, and nothing else is (acknowledged lines may come back: the stores absorb repeats).
 */

const log = createLogger('test', 'silent');
/** Small enough that a few dozen accepted records compact the file (compaction at a quarter). */
const MAX_BYTES = 1024;
/** Lines kept below the bound's drop threshold, so the reference never has to model drops. */
const MAX_QUEUED_LINES = 18;
/** Lines of about the width of a carbon line, so a few accepted records reach compaction. */
const line = (n: number) => `L${n} ${'x'.repeat(20)}`;

class Crash extends Error {}

type HeadDamage = 'none' | 'torn' | 'deleted' | 'empty';
type Op =
  | { kind: 'push'; lines: number }
  | { kind: 'take'; max: number }
  | { kind: 'accept'; share: number }
  | { kind: 'rewind' }
  | { kind: 'close' }
  /** The next operation dies at its `step`-th file-system change (or after it, if it makes fewer). */
  | { kind: 'crash'; step: number; tornShare: number; head: HeadDamage; headCut: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('push' as const), lines: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('take' as const), max: fc.integer({ min: 1, max: 8 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('accept' as const), share: fc.double({ min: 0.3, max: 1, noNaN: true }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'rewind' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('crash' as const),
      step: fc.oneof(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 12 })),
      tornShare: fc.double({ min: 0, max: 1, noNaN: true }),
      head: fc.constantFrom<HeadDamage>('none', 'none', 'none', 'torn', 'deleted', 'empty'),
      headCut: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
  },
);

/**
 * The spool's file system calls, with a fuse: armed with n, the n-th change to a file of `dir`
 * throws a Crash (a write first puts a prefix of its bytes on disk, as a torn append would).
 * fsync is counted but does nothing: the model is a process crash, and /tmp's fsync is slow.
 */
function instrumentFs(dir: string) {
  const open = new Set<number>();
  const realClose = fs.closeSync.bind(fs);
  const realWrite = fs.writeSync.bind(fs) as (fd: number, data: Buffer | string, ...rest: unknown[]) => number;
  let fuse = Infinity;
  let tornShare = 0;
  const inDir = (p: fs.PathLike) => String(p).startsWith(dir);
  const step = () => {
    if (--fuse === 0) throw new Crash('crash');
  };
  const wrapPath = <K extends 'renameSync' | 'rmSync' | 'writeFileSync' | 'ftruncateSync'>(name: K) => {
    const real = (fs[name] as (...a: unknown[]) => unknown).bind(fs);
    mock.method(fs, name, (...args: unknown[]) => {
      if (name === 'ftruncateSync' ? open.has(args[0] as number) : inDir(args[0] as fs.PathLike)) step();
      return real(...args);
    });
  };
  const realOpen = fs.openSync.bind(fs) as (p: fs.PathLike, flags?: fs.OpenMode) => number;
  mock.method(fs, 'openSync', (p: fs.PathLike, flags?: fs.OpenMode) => {
    if (!inDir(p)) return realOpen(p, flags);
    step();
    const fd = realOpen(p, flags);
    open.add(fd);
    return fd;
  });
  mock.method(fs, 'closeSync', (fd: number) => {
    open.delete(fd);
    realClose(fd);
  });
  mock.method(fs, 'fsyncSync', (fd: number) => {
    if (open.has(fd)) step();
  });
  mock.method(fs, 'writeSync', (fd: number, data: Buffer | string, ...rest: unknown[]) => {
    if (!open.has(fd)) return realWrite(fd, data, ...rest);
    if (fuse === 1) {
      const bytes =
        typeof data === 'string'
          ? Buffer.from(data)
          : data.subarray((rest[0] as number | undefined) ?? 0, ((rest[0] as number | undefined) ?? 0) + ((rest[1] as number | undefined) ?? data.length));
      realWrite(fd, bytes.subarray(0, Math.floor(bytes.length * tornShare)));
    }
    step();
    return realWrite(fd, data, ...rest);
  });
  for (const name of ['renameSync', 'rmSync', 'writeFileSync', 'ftruncateSync'] as const) wrapPath(name);
  return {
    arm(n: number, share: number) {
      fuse = n;
      tornShare = share;
    },
    disarm() {
      fuse = Infinity;
    },
    /** The process is gone: its descriptors close, nothing else happens. */
    die() {
      for (const fd of open) realClose(fd);
      open.clear();
      fuse = Infinity;
    },
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'spool-model-'));
let fsFuse: ReturnType<typeof instrumentFs>;
before(() => (fsFuse = instrumentFs(dir)));
after(() => {
  mock.restoreAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** What a history went through, to check the histories reach the paths they are meant to test. */
interface Coverage {
  compacted: boolean;
  crashesInside: number;
  headDamaged: number;
}

function runHistory(ops: Op[]): Coverage {
  const coverage: Coverage = { compacted: false, crashesInside: 0, headDamaged: 0 };
  const spoolDir = fs.mkdtempSync(path.join(dir, 'h-'));
  let dropped = 0;
  const stats: SpoolStats = { bytes: () => {}, replayed: () => {}, corrupt: () => {}, refused: () => {}, dropped: (n) => (dropped += n) };
  const openQueue = () => openSpool({ dir: spoolDir, name: 'graphite', maxBytes: MAX_BYTES }, stats, log);

  let seq = 0;
  const order = new Map<string, number>();
  // The reference FIFO: what the queue holds, oldest first; the first `handed` are handed out.
  let pending: string[] = [];
  let handed = 0;
  let queue: LineQueue | null = openQueue();
  let armed: Extract<Op, { kind: 'crash' }> | null = null;

  /** After a crash or a close: every line the reference still holds is there again, in push order. */
  const recover = (required: string[]) => {
    queue = openQueue();
    const got = queue.take(Number.MAX_SAFE_INTEGER);
    for (const line of got) assert.ok(order.has(line), `recovered a line never pushed: ${line}`);
    for (let i = 1; i < got.length; i++) assert.ok(order.get(got[i]!)! > order.get(got[i - 1]!)!, `recovered out of order or twice: ${got.join(',')}`);
    const have = new Set(got);
    const missing = required.filter((line) => !have.has(line));
    assert.deepEqual(missing, [], `lost after recovery (got ${got.join(',')})`);
    queue.rewind();
    pending = got;
    handed = 0;
  };

  const crash = (c: Extract<Op, { kind: 'crash' }>, required: string[]) => {
    fsFuse.die();
    queue = null;
    const head = path.join(spoolDir, 'graphite.head');
    coverage.compacted ||= fs.readdirSync(spoolDir).some((f) => /^graphite\.[1-9]\d*\.spool$/.test(f));
    if (fs.existsSync(head) && c.head !== 'none') {
      coverage.headDamaged++;
      if (c.head === 'deleted') fs.rmSync(head);
      if (c.head === 'empty') fs.truncateSync(head, 0);
      if (c.head === 'torn') fs.truncateSync(head, Math.floor(fs.statSync(head).size * c.headCut));
    }
    recover(required);
  };

  for (const op of ops) {
    if (op.kind === 'crash') {
      if (op.step === 0) crash(op, pending);
      else armed = op;
      continue;
    }
    const q: LineQueue = queue!;
    // Lines this operation may or may not have made durable when it dies: not required afterwards.
    let required = pending;
    if (armed) fsFuse.arm(armed.step, armed.tornShare);
    try {
      switch (op.kind) {
        case 'push': {
          if (q.length + op.lines > MAX_QUEUED_LINES) break;
          const lines = Array.from({ length: op.lines }, () => line(seq++));
          lines.forEach((line) => order.set(line, order.size));
          q.push(lines);
          pending = [...pending, ...lines];
          break;
        }
        case 'take': {
          const expected = pending.slice(handed, handed + op.max);
          assert.deepEqual(q.take(op.max), expected);
          handed += expected.length;
          break;
        }
        case 'accept': {
          const n = Math.floor(handed * op.share);
          // Acknowledged as the call starts: a crash inside it may or may not keep them.
          required = pending.slice(n);
          q.accepted(n);
          pending = pending.slice(n);
          handed -= n;
          break;
        }
        case 'rewind':
          q.rewind();
          handed = 0;
          break;
        case 'close':
          fsFuse.disarm();
          q.close();
          recover(pending);
          break;
      }
      if (queue) {
        assert.equal(queue.length, pending.length);
        assert.equal(queue.unsent, pending.length - handed);
      }
    } catch (err) {
      if (!(err instanceof Crash)) throw err;
      coverage.crashesInside++;
      crash(armed!, required);
      armed = null;
      continue;
    }
    if (armed) {
      // The operation made fewer changes than the fuse: the process dies right after it.
      crash(armed, pending);
      armed = null;
    }
  }
  fsFuse.disarm();
  queue?.close();
  recover(pending);
  queue!.close();
  assert.equal(dropped, 0, 'the history stays under the bound');
  coverage.compacted ||= fs.readdirSync(spoolDir).some((f) => /^graphite\.[1-9]\d*\.spool$/.test(f));
  fs.rmSync(spoolDir, { recursive: true, force: true });
  return coverage;
}

test('spool model: after any crash, torn append, half-done compaction or lost head, every unacknowledged line is replayed in order', () => {
  const total = { runs: 0, compacted: 0, crashesInside: 0, headDamaged: 0 };
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (ops) => {
      const c = runHistory(ops);
      total.runs++;
      total.compacted += Number(c.compacted);
      total.crashesInside += c.crashesInside;
      total.headDamaged += c.headDamaged;
    }),
    { numRuns: 1000 },
  );
  // The histories must reach the paths they are meant to test.
  assert.ok(total.runs >= 1000, JSON.stringify(total));
  assert.ok(total.compacted >= 100, `histories that compacted: ${JSON.stringify(total)}`);
  assert.ok(total.crashesInside >= 300 && total.headDamaged >= 300, JSON.stringify(total));
});
