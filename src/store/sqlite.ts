import * as fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Queryable, Row, SqlValue, TransactionOptions } from './database';
import { GroupSync } from '../util/group-sync';
import { StoreError } from './errors';
import { Mutex, withRetry, type RetryPolicy } from './retry';

/**
 * The default store: one SQLite file (better-sqlite3), created on first use, in WAL mode so that a running
 * `tvs serve` keeps reading while `tvs add` writes. better-sqlite3 is synchronous, so SQLite's own busy wait is
 * kept short (it would block the event loop) and longer waits are async retries (retry.ts).
 */

const SQLITE_WAIT_MS = 20;
const TRANSIENT = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED_SHAREDCACHE']);

export interface SqliteOptions {
  /** How long a busy store is retried before the operation fails (default 10 s). */
  busyBudgetMs?: number;
}

export function openSqlite(file: string, options: SqliteOptions = {}): Database {
  checkFile(file);
  let db: BetterSqlite3.Database;
  try {
    createPrivate(file);
    db = new BetterSqlite3(file, { timeout: SQLITE_WAIT_MS });
  } catch (err) {
    throw sqliteError(file, err);
  }
  const store = new SqliteDatabase(db, file, { budgetMs: options.busyBudgetMs ?? 10_000, isTransient: isBusy });
  try {
    // A file system without WAL support leaves the journal as it was: then syncOffLoop commits at FULL.
    store.walMode = retrySync(() => db.pragma('journal_mode = WAL', { simple: true }), store.policy) === 'wal';
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    // Reading the schema proves it is a database at all ("file is not a database" otherwise).
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (err) {
    db.close();
    throw sqliteError(file, err);
  }
  return store;
}

class SqliteDatabase implements Database {
  readonly dialect = 'sqlite' as const;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();
  private readonly lock = new Mutex();
  private closed = false;

  /** The write-ahead log: what a commit appends to, fsynced off the event loop for `syncOffLoop`. */
  private readonly wal: GroupSync;
  /** Whether the file is in WAL mode: the only mode in which NORMAL is FULL without the commit's sync. */
  walMode = false;

  constructor(
    private readonly db: BetterSqlite3.Database,
    readonly description: string,
    readonly policy: RetryPolicy,
  ) {
    this.wal = new GroupSync(`${db.name}-wal`);
  }

  all<T extends object = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    // The hot path (a TVS lookup per request): no transaction running, so run now; queue and retry only when busy.
    if (this.lock.idle && !this.closed) {
      try {
        return Promise.resolve(this.prepare(sql).all(...params) as T[]);
      } catch (err) {
        if (!isBusy(err)) return Promise.reject(sqliteError(this.description, err, this.policy.budgetMs));
      }
    }
    return this.outside(() => this.direct.all<T>(sql, params));
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.outside(() => this.direct.run(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.outside(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const offLoop = options.syncOffLoop === true && this.walMode;
    const committed = withRetry(this.policy, () =>
      this.lock.run(async () => {
        // The safety level cannot change inside a transaction: around it, under the lock (this connection's
        // transactions run one at a time, so no other commit runs at NORMAL).
        if (offLoop) this.guard(() => this.db.pragma('synchronous = NORMAL'));
        try {
          this.guard(() => this.db.exec('BEGIN IMMEDIATE'));
          try {
            const result = await fn(this.direct);
            this.guard(() => this.db.exec('COMMIT'));
            return result;
          } catch (err) {
            if (this.db.inTransaction) this.db.exec('ROLLBACK');
            throw err;
          }
        } finally {
          if (offLoop && !this.closed) this.db.pragma('synchronous = FULL');
        }
      }),
    );
    // The commit is in the WAL (the file's pages); durable once the WAL is fsynced, which SQLite at FULL does
    // inside COMMIT on the event loop and which this does on the thread pool, before anyone hears of it.
    return (offLoop ? committed.then(async (result) => (await this.wal.sync(), result)) : committed).catch((err: unknown) => {
      throw sqliteError(this.description, err, this.policy.budgetMs);
    });
  }

  async ping(): Promise<void> {
    await this.all('SELECT 1 AS one');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.lock.run(async () => {
      this.closed = true;
      this.db.close();
    });
  }

  /** Statements run on the connection as it is (inside a transaction: in it). */
  private readonly direct: Queryable = {
    dialect: 'sqlite',
    all: async <T extends object>(sql: string, params: readonly SqlValue[] = []) => this.guard(() => this.prepare(sql).all(...params) as T[]),
    run: async (sql: string, params: readonly SqlValue[] = []) => this.guard(() => this.prepare(sql).run(...params).changes),
    exec: async (sql: string) => this.guard(() => void this.db.exec(sql)),
  };

  /** A statement outside any transaction: waits for a running transaction, retries while the file is busy. */
  private outside<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(this.policy, () => this.lock.run(fn)).catch((err: unknown) => {
      throw sqliteError(this.description, err, this.policy.budgetMs);
    });
  }

  private guard<T>(fn: () => T): T {
    if (this.closed) throw new StoreError(`${this.description}: the store is closed`);
    return fn();
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

function isBusy(err: unknown): boolean {
  return TRANSIENT.has((err as { code?: string })?.code ?? '');
}

function retrySync<T>(fn: () => T, policy: RetryPolicy): T {
  const deadline = Date.now() + policy.budgetMs;
  for (;;) {
    try {
      return fn();
    } catch (err) {
      if (!policy.isTransient(err) || Date.now() > deadline) throw err;
    }
  }
}

/** Refuse what SQLite would mishandle: folders, FIFOs, devices. */
function checkFile(file: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw sqliteError(file, err);
  }
  if (stat.isDirectory()) throw new StoreError(`${file}: is a folder, not a store file`);
  if (!stat.isFile()) throw new StoreError(`${file}: not a regular file (a store is a SQLite file or a postgres:// URL)`);
}

/** A new store file is readable by its owner only: CAPF keeps password hashes in the same file. */
function createPrivate(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY, 0o600));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

const REASONS: Record<string, string> = {
  SQLITE_NOTADB: 'not a SQLite database',
  SQLITE_CORRUPT: 'the database file is corrupt',
  SQLITE_CANTOPEN: 'cannot open the file',
  SQLITE_READONLY: 'read-only (permission denied or read-only file system)',
  SQLITE_FULL: 'disk full',
  SQLITE_BUSY: 'busy: another process holds it locked',
  SQLITE_LOCKED: 'locked by another process',
  SQLITE_IOERR: 'input/output error',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOENT: 'folder does not exist',
  ENOSPC: 'disk full',
  EROFS: 'read-only file system',
  ENOTDIR: 'a parent is not a folder',
};

export function sqliteError(file: string, err: unknown, budgetMs?: number): Error {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: string })?.code ?? '';
  const base = code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1');
  const reason = REASONS[code] ?? REASONS[base];
  if (!reason && !code) return err as Error; // not a SQLite or system error: a bug or the caller's own error
  const retried = isBusy(err) && budgetMs ? ` (tried again for ${budgetMs / 1000} s)` : '';
  return new StoreError(`${file}: ${reason ?? (err as Error).message}${retried}`, isBusy(err));
}
