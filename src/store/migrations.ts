import type { Database, Dialect, Queryable } from './database';
import { StoreError } from './errors';

/**
 * Schema versions, one per service. Each service owns a list of migrations (versions 1, 2, 3... in order) and
 * registers it under its own name; `openctl_schema` records how far each service's tables are. Migrating runs
 * every missing step in one transaction (serialized between processes: SQLite's write lock, a PostgreSQL
 * advisory lock), so two `tvs serve` starting at once on a fresh store do not both create the tables.
 */

export interface Migration {
  version: number;
  /** One line, kept in the schema table: what the step changes. */
  description: string;
  /** SQL for both dialects, SQL per dialect, or a function for data changes. */
  up: string | Readonly<Record<Dialect, string>> | ((tx: Queryable) => Promise<void>);
}

export interface ServiceMigrations {
  /** The service's name, the key of its row in `openctl_schema`: `tvs`, `capf`... */
  service: string;
  migrations: readonly Migration[];
}

const SCHEMA_TABLE = `CREATE TABLE IF NOT EXISTS openctl_schema (
  service TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  description TEXT NOT NULL,
  migrated_at TEXT NOT NULL
)`;

/** Any 64-bit constant: the advisory lock every openctl process takes while it migrates a PostgreSQL store. */
const PG_MIGRATION_LOCK = 0x6f70656e63746c;

/** Bring `service`'s tables to its newest version. Returns the version before and after. */
export async function migrate(db: Database, { service, migrations }: ServiceMigrations): Promise<{ from: number; to: number }> {
  checkList(service, migrations);
  const newest = migrations.length;
  return db.transaction(async (tx) => {
    if (tx.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?::bigint) AS locked', [String(PG_MIGRATION_LOCK)]);
    await tx.exec(SCHEMA_TABLE);
    const rows = await tx.all<{ version: number }>('SELECT version FROM openctl_schema WHERE service = ?', [service]);
    const from = rows.length > 0 ? Number(rows[0]!.version) : 0;
    if (from > newest) {
      throw new StoreError(
        `${db.description}: the ${service} tables are at schema version ${from}, this openctl knows up to ${newest}: use a newer openctl`,
      );
    }
    for (const step of migrations.slice(from)) {
      if (typeof step.up === 'function') await step.up(tx);
      else await tx.exec(typeof step.up === 'string' ? step.up : step.up[tx.dialect]);
    }
    if (from < newest) {
      const last = migrations[newest - 1]!;
      const now = new Date().toISOString();
      const params = [service, newest, last.description, now];
      if (from === 0) await tx.run('INSERT INTO openctl_schema (service, version, description, migrated_at) VALUES (?, ?, ?, ?)', params);
      else await tx.run('UPDATE openctl_schema SET version = ?, description = ?, migrated_at = ? WHERE service = ?', [newest, last.description, now, service]);
    }
    return { from, to: newest };
  });
}

/** The schema version of every service in the store (empty for a new store). */
export async function schemaVersions(db: Database): Promise<Record<string, number>> {
  await db.exec(SCHEMA_TABLE);
  const rows = await db.all<{ service: string; version: number }>('SELECT service, version FROM openctl_schema ORDER BY service');
  return Object.fromEntries(rows.map((r) => [r.service, Number(r.version)]));
}

function checkList(service: string, migrations: readonly Migration[]): void {
  if (!/^[a-z][a-z0-9_-]*$/.test(service)) throw new Error(`migration list name "${service}": lowercase letters, digits, - and _`);
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`${service} migrations: step ${i} has version ${m.version}, expected ${i + 1}`);
  });
}
