import { Pool, types, type PoolClient, type PoolConfig } from 'pg';
import type { Database, Queryable, Row, SqlValue, TransactionOptions } from './database';
import { StoreError } from './errors';
import { withRetry, type RetryPolicy } from './retry';

/**
 * A shared store for a cluster: every node's TVS/CAPF reads and writes one PostgreSQL database (pg). The
 * password is best kept out of the URL (it would be in argv and in `ps`): pg reads PGPASSWORD and ~/.pgpass.
 */

/** Errors after which the same statement can succeed: serialization, deadlock, lock wait, restarts, resets. */
const TRANSIENT_SQLSTATE = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
const TRANSIENT_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

export interface PostgresOptions {
  /** How long an unreachable or busy store is retried before the operation fails (default 10 s). */
  busyBudgetMs?: number;
  /** Pooled connections (default 10). */
  maxConnections?: number;
}

// BIGINT and COUNT(*) as numbers: every value the store keeps (TTL, Unix times, counters) is far below 2^53.
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === types.builtins.INT8 ? (v: string) => Number(v) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** The URL as it may be printed: no password. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    for (const key of [...parsed.searchParams.keys()]) if (/pass/i.test(key)) parsed.searchParams.set(key, '***');
    return parsed.toString();
  } catch {
    return 'postgres://<unparsable URL>';
  }
}

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<Database> {
  const description = redactUrl(url);
  try {
    new URL(url);
  } catch {
    throw new StoreError(`${description}: not a valid postgres:// URL`);
  }
  const config: PoolConfig = {
    connectionString: url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: Math.min(5000, Math.max(500, options.busyBudgetMs ?? 5000)),
    idleTimeoutMillis: 30_000,
    statement_timeout: 10_000,
    application_name: 'openctl',
    types: TYPES,
  };
  const pool = new Pool(config);
  // An idle pooled connection that the server drops (restart, failover) must not crash the process.
  pool.on('error', () => undefined);
  const db = new PostgresDatabase(pool, description, { budgetMs: options.busyBudgetMs ?? 10_000, isTransient });
  await db.ping();
  return db;
}

class PostgresDatabase implements Database {
  readonly dialect = 'postgres' as const;

  constructor(
    private readonly pool: Pool,
    readonly description: string,
    private readonly policy: RetryPolicy,
  ) {}

  all<T extends object = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.retry(async () => (await this.pool.query(numbered(sql), params as SqlValue[])).rows as T[]);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
    return this.retry(async () => (await this.pool.query(numbered(sql), params as SqlValue[])).rowCount ?? 0);
  }

  exec(sql: string): Promise<void> {
    return this.retry(async () => void (await this.pool.query(sql)));
  }

  /** `syncOffLoop` changes nothing here: COMMIT returns once the server has made it durable, and pg never blocks the event loop. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, _options: TransactionOptions = {}): Promise<T> {
    return this.retry(async () => {
      const client = await this.pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await fn(clientQueryable(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw err;
      } finally {
        client.release(broken);
      }
    });
  }

  async ping(): Promise<void> {
    await this.all('SELECT 1 AS one');
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private retry<T>(fn: () => Promise<T>): Promise<T> {
    return withRetry(this.policy, fn).catch((err: unknown) => {
      throw postgresError(this.description, err, this.policy.budgetMs);
    });
  }
}

function clientQueryable(client: PoolClient): Queryable {
  return {
    dialect: 'postgres',
    all: async <T extends object>(sql: string, params: readonly SqlValue[] = []) => (await client.query(numbered(sql), params as SqlValue[])).rows as T[],
    run: async (sql: string, params: readonly SqlValue[] = []) => (await client.query(numbered(sql), params as SqlValue[])).rowCount ?? 0,
    exec: async (sql: string) => void (await client.query(sql)),
  };
}

/** `?` placeholders become `$1, $2...` (the store's SQL never has a `?` inside a literal). */
const numberedCache = new Map<string, string>();
function numbered(sql: string): string {
  let out = numberedCache.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    numberedCache.set(sql, out);
  }
  return out;
}

function isTransient(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (e?.code && (TRANSIENT_SQLSTATE.has(e.code) || TRANSIENT_ERRNO.has(e.code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e?.message ?? '');
}

export function postgresError(description: string, err: unknown, budgetMs = 10_000): Error {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string };
  if (!e?.code && !isTransient(err)) {
    // pg reports authentication and URL problems as plain errors; everything else without a code is ours.
    if (/password|authentication|SCRAM|getaddrinfo|database .* does not exist/i.test(e?.message ?? '')) {
      return new StoreError(`${description}: ${e.message}`);
    }
    return err as Error;
  }
  const transient = isTransient(err);
  const reason = transient && TRANSIENT_ERRNO.has(e.code ?? '') ? `cannot reach the server (${e.code}, tried again for ${budgetMs / 1000} s)` : (e.message ?? String(err));
  return new StoreError(`${description}: ${reason}`, transient);
}
