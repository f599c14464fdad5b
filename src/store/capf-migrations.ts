import type { ServiceMigrations } from './migrations';

/**
 * CAPF's tables: the devices the administrator declared (what each phone should do, how it authenticates) and
 * every LSC ever issued (history; an install is `issued` until the phone confirms it stored it).
 */
const DEVICES = (blob: string) => `CREATE TABLE capf_devices (
  name TEXT PRIMARY KEY,
  operation TEXT NOT NULL CHECK (operation IN ('install', 'fetch', 'delete', 'none')),
  auth TEXT NOT NULL CHECK (auth IN ('none', 'password', 'mic')),
  key_spec TEXT NOT NULL,
  password_hash TEXT,
  failures INTEGER NOT NULL DEFAULT 0,
  lsc_serial TEXT,
  lsc_not_after TEXT,
  lsc_certificate ${blob},
  last_contact TEXT,
  last_result TEXT,
  added_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
)`;

const HISTORY = (id: string, blob: string) => `CREATE TABLE capf_lsc_history (
  id ${id},
  device TEXT NOT NULL,
  serial TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('issued', 'installed', 'fetched')),
  not_before TEXT NOT NULL,
  not_after TEXT NOT NULL,
  certificate ${blob} NOT NULL,
  issued_at TEXT NOT NULL,
  confirmed_at TEXT
)`;

export const CAPF_MIGRATIONS: ServiceMigrations = {
  service: 'capf',
  migrations: [
    {
      version: 1,
      description: 'capf_devices and capf_lsc_history',
      up: {
        sqlite: `${DEVICES('BLOB')};
${HISTORY('INTEGER PRIMARY KEY AUTOINCREMENT', 'BLOB')};
CREATE INDEX capf_lsc_history_device ON capf_lsc_history (device, id);`,
        postgres: `${DEVICES('BYTEA')};
${HISTORY('BIGSERIAL PRIMARY KEY', 'BYTEA')};
CREATE INDEX capf_lsc_history_device ON capf_lsc_history (device, id);`,
      },
    },
  ],
};
