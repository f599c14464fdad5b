import { createHash } from 'node:crypto';
import type { Database } from './database';
import type { ServiceMigrations } from './migrations';

/**
 * What TVS knows: certificates it vouches for, each with its roles and the TTL phones may cache the answer.
 * Keyed by the SHA-256 of the certificate's DER (the trust decision is an exact match of that hash).
 */

export const TVS_MIGRATIONS: ServiceMigrations = {
  service: 'tvs',
  migrations: [
    {
      version: 1,
      description: 'tvs_certificates: certificates TVS vouches for, with roles and TTL',
      up: {
        sqlite: `CREATE TABLE tvs_certificates (
          sha256 TEXT PRIMARY KEY,
          serial TEXT NOT NULL,
          subject TEXT NOT NULL,
          issuer TEXT NOT NULL,
          certificate BLOB NOT NULL,
          roles TEXT NOT NULL,
          ttl INTEGER NOT NULL CHECK (ttl BETWEEN 1 AND 2592000),
          added_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        )`,
        postgres: `CREATE TABLE tvs_certificates (
          sha256 TEXT PRIMARY KEY,
          serial TEXT NOT NULL,
          subject TEXT NOT NULL,
          issuer TEXT NOT NULL,
          certificate BYTEA NOT NULL,
          roles TEXT NOT NULL,
          ttl INTEGER NOT NULL CHECK (ttl BETWEEN 1 AND 2592000),
          added_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        )`,
      },
    },
  ],
};

export const TTL_MIN = 1;
export const TTL_MAX = 30 * 24 * 3600;
export const TTL_DEFAULT = 24 * 3600;

export interface TvsVerdict {
  roles: number[];
  ttl: number;
}

export interface TvsEntry extends TvsVerdict {
  /** Lowercase hex SHA-256 of the DER. */
  sha256: string;
  serial: string;
  subject: string;
  issuer: string;
  certificate: Buffer;
  addedAt: string;
  updatedAt: string;
}

/** One certificate to vouch for; the caller has read its facts (src/crypto/certificate). */
export interface TvsPut extends TvsVerdict {
  certificate: Buffer;
  serial: string;
  subject: string;
  issuer: string;
}

interface TvsRow {
  sha256: string;
  serial: string;
  subject: string;
  issuer: string;
  certificate: Buffer | Uint8Array;
  roles: string;
  ttl: number;
  added_at: string;
  updated_at: string;
}

export function sha256Hex(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export class TvsStore {
  constructor(readonly db: Database) {}

  /** The answer for a certificate's SHA-256 (32 bytes or hex), or undefined when TVS does not vouch for it. */
  async lookup(sha256: Buffer | string): Promise<TvsVerdict | undefined> {
    const key = typeof sha256 === 'string' ? sha256.toLowerCase() : sha256.toString('hex');
    const rows = await this.db.all<Pick<TvsRow, 'roles' | 'ttl'>>('SELECT roles, ttl FROM tvs_certificates WHERE sha256 = ?', [key]);
    const row = rows[0];
    return row ? { roles: parseRoles(row.roles), ttl: Number(row.ttl) } : undefined;
  }

  /** Add certificates, or replace the roles and TTL of those already known; in one transaction. */
  async put(entries: readonly TvsPut[]): Promise<{ added: string[]; updated: string[] }> {
    return this.db.transaction(async (tx) => {
      const added: string[] = [];
      const updated: string[] = [];
      const now = new Date().toISOString();
      for (const entry of entries) {
        const key = sha256Hex(entry.certificate);
        const roles = formatRoles(entry.roles);
        const changed = await tx.run('UPDATE tvs_certificates SET roles = ?, ttl = ?, updated_at = ? WHERE sha256 = ?', [roles, entry.ttl, now, key]);
        if (changed > 0) {
          updated.push(key);
          continue;
        }
        await tx.run(
          'INSERT INTO tvs_certificates (sha256, serial, subject, issuer, certificate, roles, ttl, added_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [key, entry.serial, entry.subject, entry.issuer, entry.certificate, roles, entry.ttl, now, now],
        );
        added.push(key);
      }
      return { added, updated };
    });
  }

  /** Forget a certificate by its SHA-256 (hex). True when it was known. */
  async remove(sha256: string): Promise<boolean> {
    return (await this.db.run('DELETE FROM tvs_certificates WHERE sha256 = ?', [sha256.toLowerCase()])) > 0;
  }

  async list(): Promise<TvsEntry[]> {
    const rows = await this.db.all<TvsRow>('SELECT * FROM tvs_certificates ORDER BY subject, sha256');
    return rows.map((r) => ({
      sha256: r.sha256,
      serial: r.serial,
      subject: r.subject,
      issuer: r.issuer,
      certificate: Buffer.from(r.certificate),
      roles: parseRoles(r.roles),
      ttl: Number(r.ttl),
      addedAt: r.added_at,
      updatedAt: r.updated_at,
    }));
  }

  async count(): Promise<number> {
    const rows = await this.db.all<{ n: number }>('SELECT count(*) AS n FROM tvs_certificates');
    return Number(rows[0]?.n ?? 0);
  }
}

/** Roles are kept as their record-function numbers, e.g. `1,7`. */
function formatRoles(roles: readonly number[]): string {
  return [...new Set(roles)].sort((a, b) => a - b).join(',');
}

function parseRoles(text: string): number[] {
  return text === '' ? [] : text.split(',').map(Number);
}
