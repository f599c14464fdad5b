/**
 * The one SQL surface the store drivers share. Statements use `?` placeholders (the PostgreSQL driver numbers
 * them); values are strings, numbers, Buffers (BLOB / BYTEA) or null. Only src/store writes SQL: services call
 * the query modules next to this file (tvs.ts, capf*.ts), which speak in the services' own words.
 */

export type SqlValue = string | number | Buffer | null;
export type Row = Record<string, unknown>;
export type Dialect = 'sqlite' | 'postgres';

/** What a statement may run on: the database itself, or a transaction of it. */
export interface Queryable {
  readonly dialect: Dialect;
  /** Rows of a SELECT (or of `... RETURNING`). */
  all<T extends object = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** A statement's changed-row count. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  /** Where the store is, safe to print: a file path, or a URL without its password. */
  readonly description: string;
  /**
   * Run `fn` in one transaction: committed when it resolves, rolled back when it throws. A busy or locked store
   * (another writer, a serialization failure) is retried with back-off, so `fn` may run more than once: keep it
   * free of side effects outside the database.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** A cheap round trip (health checks). Throws StoreError when the store cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface TransactionOptions {
  /**
   * Keep the disk wait of the commit off the event loop; the transaction still resolves only once it is
   * durable. SQLite (better-sqlite3 is synchronous): this commit runs with `synchronous = NORMAL`, which in WAL
   * mode leaves out exactly one step of FULL, the fsync of the WAL at commit; that fsync is then done on
   * libuv's thread pool (shared with the commits made meanwhile) before the promise resolves. A SQLite file that
   * could not be put in WAL mode commits at FULL as usual. PostgreSQL: no change (the commit is durable when
   * COMMIT returns).
   */
  syncOffLoop?: boolean;
}
