/**
 * The store: the one place that knows SQL. A store is a SQLite file (default, created on first use) or a
 * `postgres://` URL (one store shared by every node of a cluster); both sit behind `Database` (database.ts).
 *
 * How a service adds its tables:
 *   1. Write its migrations in its own file here, e.g. `src/store/capf-migrations.ts`:
 *        export const CAPF_MIGRATIONS: ServiceMigrations = { service: 'capf', migrations: [
 *          { version: 1, description: 'devices and enrolments', up: { sqlite: 'CREATE TABLE ...', postgres: 'CREATE TABLE ...' } },
 *        ] };
 *      Versions are 1, 2, 3... and never edited once released: a change is a new step. Prefix table names with
 *      the service (`capf_devices`). Use `?` placeholders; BLOB in SQLite is BYTEA in PostgreSQL (per-dialect SQL).
 *   2. Write its queries in the same spirit (`src/store/capf.ts`: a class over a `Database` that answers in the
 *      service's words; tvs.ts is the example).
 *   3. Open with `openServiceStore(spec, [CAPF_MIGRATIONS])`: opens the store and brings those tables up to date
 *      (each service's version is kept under its own name in `openctl_schema`, so services never edit each
 *      other's lists).
 * Busy and locked stores are retried inside the drivers (retry.ts); what still fails is a StoreError, with
 * `transient` set when trying later may work (a server answers that peer with an error and keeps running).
 */
import * as path from 'node:path';
import type { Database } from './database';
import { migrate, type ServiceMigrations } from './migrations';
import { openSqlite } from './sqlite';
import { isPostgresUrl, openPostgres } from './postgres';
import { StoreError } from './errors';

export type { Database, Queryable, Row, SqlValue, Dialect, TransactionOptions } from './database';
export { migrate, schemaVersions, type Migration, type ServiceMigrations } from './migrations';
export { StoreError } from './errors';
export { isPostgresUrl, redactUrl } from './postgres';
export { withRetry, Mutex } from './retry';

export interface OpenStoreOptions {
  /** Relative SQLite paths are resolved from here (default process.cwd()). */
  cwd?: string;
  /** How long a busy or unreachable store is retried (default 10 s). */
  busyBudgetMs?: number;
}

/** Open a store: `postgres://...` / `postgresql://...`, or a SQLite file path. */
export async function openStore(spec: string, options: OpenStoreOptions = {}): Promise<Database> {
  if (!spec) throw new StoreError('--db: give a SQLite file or a postgres:// URL');
  if (isPostgresUrl(spec)) return openPostgres(spec, { busyBudgetMs: options.busyBudgetMs });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new StoreError(`${spec}: unknown store URL (a SQLite file path or postgres://...)`);
  return openSqlite(path.resolve(options.cwd ?? process.cwd(), spec), { busyBudgetMs: options.busyBudgetMs });
}

/** Open a store and bring the given services' tables to their newest schema. Closes the store if that fails. */
export async function openServiceStore(spec: string, services: readonly ServiceMigrations[], options: OpenStoreOptions = {}): Promise<Database> {
  const db = await openStore(spec, options);
  try {
    for (const service of services) await migrate(db, service);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}
