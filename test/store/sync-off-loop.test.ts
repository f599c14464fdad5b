import { strict as assert } from 'node:assert';
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { openStore, type Database } from '../../src/store';
import { usePostgres } from '../helpers/postgres';

const run = promisify(execFile);

/**
 * `transaction(fn, { syncOffLoop: true })`: the same transaction, committed and durable when it resolves, but
 * (SQLite) with the commit's fsync of the WAL done on libuv's thread pool instead of inside COMMIT on the
 * event loop. PostgreSQL: unchanged (its COMMIT is durable and never blocks the loop).
 */

async function contract(open: () => Promise<Database>, what: string): Promise<void> {
  const db = await open();
  const other = await open();
  try {
    await db.exec('CREATE TABLE sol (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
    const ids = await db.transaction(async (tx) => {
      await tx.run('INSERT INTO sol (k, v) VALUES (?, ?)', ['a', 1]);
      return (await tx.all<{ k: string }>('SELECT k FROM sol')).map((r) => r.k);
    }, { syncOffLoop: true });
    assert.deepEqual(ids, ['a'], `${what}: fn's result`);
    assert.deepEqual(await other.all('SELECT k, v FROM sol'), [{ k: 'a', v: 1 }], `${what}: committed, seen by another connection`);

    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run('INSERT INTO sol (k, v) VALUES (?, ?)', ['b', 2]);
        throw new Error('changed my mind');
      }, { syncOffLoop: true }),
      /changed my mind/,
    );
    assert.deepEqual(await other.all('SELECT k FROM sol ORDER BY k'), [{ k: 'a' }], `${what}: a throwing fn rolls back`);

    // Many at once, mixed with ordinary transactions: every one lands.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => db.transaction((tx) => tx.run('INSERT INTO sol (k, v) VALUES (?, ?)', [`k${i}`, i]), { syncOffLoop: i % 3 !== 0 })),
    );
    assert.deepEqual(await other.all('SELECT count(*) AS n FROM sol'), [{ n: 61 }], `${what}: 60 concurrent transactions`);
    if (db.dialect === 'sqlite') {
      assert.deepEqual(await db.all('PRAGMA synchronous'), [{ synchronous: 2 }], 'back to FULL for every other commit');
    }
  } finally {
    await other.close();
    await db.close();
  }
}

/** Whether strace can follow a process here (installed, ptrace allowed). */
function straceWorks(): boolean {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=none', 'true'], { encoding: 'utf8' });
  return r.status === 0;
}

describe('store: transaction(fn, { syncOffLoop })', function () {
  this.timeout(120_000);
  let dir: string;
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-sync-off-loop-'))));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('SQLite: commits, rolls back on a throw, many at once; the safety level is FULL again afterwards', async () => {
    const file = path.join(dir, 'contract.db');
    await contract(() => openStore(file), 'SQLite');
  });

  it('SQLite: the WAL is fsynced on a pool thread, not the event loop, before the transaction resolves; an ordinary commit fsyncs it on the event loop', async function () {
    if (!straceWorks()) this.skip();
    const file = path.join(dir, 'traced.db');
    // A child that marks each step on stdout (write(1, ...)) so the trace shows what happened in between.
    const store = require.resolve('../../src/store');
    const script = `
      const { openStore } = require(${JSON.stringify(store)});
      const mark = (m) => require('fs').writeSync(1, m + '\\n');
      (async () => {
        const db = await openStore(${JSON.stringify(file)});
        await db.exec('CREATE TABLE t (v INTEGER)');
        mark('off-loop:begin');
        await db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (1)'), { syncOffLoop: true });
        mark('off-loop:resolved');
        mark('plain:begin');
        await db.transaction((tx) => tx.run('INSERT INTO t (v) VALUES (2)'));
        mark('plain:resolved');
        await db.close();
      })();`;
    const trace = path.join(dir, 'strace.txt');
    await run('strace', ['-f', '-qq', '-y', '-o', trace, '-e', 'trace=fsync,fdatasync,write', process.execPath, '-e', script]);
    const lines = fs.readFileSync(trace, 'utf8').split('\n');
    const main = Number(lines.find((l) => /write\(1</.test(l))!.split(' ')[0]);
    const at = (mark: string) => lines.findIndex((l) => l.includes(`"${mark}\\n"`));
    /** The fsyncs of the WAL between two marks: which thread, and the trace line where each ended. */
    const walSyncs = (from: string, to: string) => {
      const out: Array<{ tid: number; ended: number }> = [];
      for (let i = at(from) + 1; i < at(to); i += 1) {
        const m = /^(\d+)\s+(?:(?:fsync|fdatasync)\(\d+<([^>]*)>\)|<\.\.\. (?:fsync|fdatasync) resumed>)/.exec(lines[i]!);
        if (!m) continue;
        if (m[2] !== undefined && !m[2].endsWith('-wal')) continue;
        if (/<unfinished \.\.\.>/.test(lines[i]!)) continue; // counted where it ends
        if (m[2] === undefined && !walResumed(lines, i)) continue;
        out.push({ tid: Number(m[1]), ended: i });
      }
      return out;
    };
    const offLoop = walSyncs('off-loop:begin', 'off-loop:resolved');
    assert.ok(offLoop.length >= 1, `an fsync of the WAL before the off-loop transaction resolved:\n${lines.join('\n')}`);
    assert.ok(offLoop.every((s) => s.tid !== main), `none on the event loop's thread (${main}): ${JSON.stringify(offLoop)}`);
    const plain = walSyncs('plain:begin', 'plain:resolved');
    assert.ok(plain.some((s) => s.tid === main), `the ordinary commit fsyncs the WAL on the event loop's thread: ${JSON.stringify(plain)}`);
  });

  describe('PostgreSQL (a real server)', function () {
    const pg = usePostgres();

    it('the option changes nothing: commits, rolls back on a throw, many at once', async () => {
      const url = await pg().createDatabase('syncoffloop');
      await contract(() => openStore(url), 'PostgreSQL');
    });
  });
});

/** A `<... fsync resumed>` line belongs to the WAL when the same thread's unfinished fsync named it. */
function walResumed(lines: string[], index: number): boolean {
  const tid = lines[index]!.split(' ')[0];
  for (let i = index - 1; i >= 0; i -= 1) {
    const l = lines[i]!;
    if (!l.startsWith(`${tid} `)) continue;
    const m = /(?:fsync|fdatasync)\(\d+<([^>]*)>/.exec(l);
    if (m && /<unfinished \.\.\.>/.test(l)) return m[1]!.endsWith('-wal');
  }
  return false;
}
