import type { Database, Queryable, SqlValue } from './database';

/**
 * What CAPF knows, in CAPF's words: per device (SEP<MAC>) the pending operation, the authentication it must
 * pass, the key it gets, its password hash, failures, current LSC and last contact; and the history of every
 * LSC issued. Operations complete only through `confirm*` calls, made once the phone has answered.
 */

export type CapfOperation = 'install' | 'fetch' | 'delete' | 'none';
export type CapfAuth = 'none' | 'password' | 'mic';
export const CAPF_OPERATIONS: readonly CapfOperation[] = ['install', 'fetch', 'delete', 'none'];
export const CAPF_AUTHS: readonly CapfAuth[] = ['none', 'password', 'mic'];

export interface CapfDevice {
  name: string;
  operation: CapfOperation;
  auth: CapfAuth;
  /** `rsa:2048`, `ec:p256`... */
  keySpec: string;
  passwordHash: string | null;
  failures: number;
  lscSerial: string | null;
  lscNotAfter: string | null;
  lastContact: string | null;
  lastResult: string | null;
  addedAt: string;
  updatedAt: string;
}

export interface CapfDeviceFields {
  operation?: CapfOperation;
  auth?: CapfAuth;
  keySpec?: string;
  /** A hash (never a password); null clears it. */
  passwordHash?: string | null;
  /** `device set --unlock`. */
  unlock?: boolean;
}

export interface LscHistoryEntry {
  id: number;
  device: string;
  serial: string;
  status: 'issued' | 'installed' | 'fetched';
  notBefore: string;
  notAfter: string;
  certificate: Buffer;
  issuedAt: string;
  confirmedAt: string | null;
}

interface DeviceRow {
  name: string;
  operation: CapfOperation;
  auth: CapfAuth;
  key_spec: string;
  password_hash: string | null;
  failures: number | string;
  lsc_serial: string | null;
  lsc_not_after: string | null;
  last_contact: string | null;
  last_result: string | null;
  added_at: string;
  updated_at: string;
}

const DEVICE_COLUMNS =
  'name, operation, auth, key_spec, password_hash, failures, lsc_serial, lsc_not_after, last_contact, last_result, added_at, updated_at';

function toDevice(row: DeviceRow): CapfDevice {
  return {
    name: row.name,
    operation: row.operation,
    auth: row.auth,
    keySpec: row.key_spec,
    passwordHash: row.password_hash,
    failures: Number(row.failures),
    lscSerial: row.lsc_serial,
    lscNotAfter: row.lsc_not_after,
    lastContact: row.last_contact,
    lastResult: row.last_result,
    addedAt: row.added_at,
    updatedAt: row.updated_at,
  };
}

export interface NewCapfDevice {
  name: string;
  operation: CapfOperation;
  auth: CapfAuth;
  keySpec: string;
  passwordHash: string | null;
}

/**
 * Group commit for the server's writes: whatever sessions ask to write while a transaction is committing goes
 * into the next one, so 64 phones finishing at once cost one commit (one fsync), not 64. Each write runs in
 * its own savepoint: one that fails rolls back alone and fails only its caller. The commit's fsync runs off
 * the event loop (`syncOffLoop`); a write resolves, and its session goes on, only once it is durable.
 */
class WriteBatcher {
  private queue: Array<{ fn: (tx: Queryable) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
  private running = false;

  constructor(private readonly db: Database) {}

  write<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.running) return;
      this.running = true;
      // Wait for the end of this event-loop turn: every session whose bytes arrived in it joins the batch (a
      // synchronous driver would otherwise commit each write before the next session could even ask).
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      let outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        await this.db.transaction(async (tx) => {
          outcomes = []; // the store may retry the whole transaction: start over
          for (const item of batch) {
            await tx.exec('SAVEPOINT capf_write');
            try {
              outcomes.push({ ok: true, value: await item.fn(tx) });
              await tx.exec('RELEASE SAVEPOINT capf_write');
            } catch (error) {
              await tx.exec('ROLLBACK TO SAVEPOINT capf_write');
              await tx.exec('RELEASE SAVEPOINT capf_write');
              outcomes.push({ ok: false, error });
            }
          }
          // Durable before it resolves, without the event loop waiting for the disk (database.ts).
        }, { syncOffLoop: true });
      } catch (error) {
        for (const item of batch) item.reject(error);
        continue;
      }
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    }
    this.running = false;
  }
}

export class CapfStore {
  private readonly writes: WriteBatcher;

  constructor(readonly db: Database) {
    this.writes = new WriteBatcher(db);
  }

  /** Add devices in one transaction; a device that exists already is an error unless `replace`. Returns names that existed. */
  async addDevices(devices: readonly NewCapfDevice[], { replace = false }: { replace?: boolean } = {}): Promise<string[]> {
    const now = new Date().toISOString();
    return this.db.transaction(async (tx) => {
      const existing: string[] = [];
      for (const d of devices) {
        const found = await tx.all<{ name: string }>('SELECT name FROM capf_devices WHERE name = ?', [d.name]);
        if (found.length > 0) {
          existing.push(d.name);
          if (!replace) continue;
          await tx.run(
            'UPDATE capf_devices SET operation = ?, auth = ?, key_spec = ?, password_hash = ?, failures = 0, updated_at = ? WHERE name = ?',
            [d.operation, d.auth, d.keySpec, d.passwordHash, now, d.name],
          );
        } else {
          await tx.run(
            'INSERT INTO capf_devices (name, operation, auth, key_spec, password_hash, failures, added_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)',
            [d.name, d.operation, d.auth, d.keySpec, d.passwordHash, now, now],
          );
        }
      }
      return existing;
    });
  }

  /** Change only the named fields. Returns the names that do not exist (nothing is changed then). */
  async setDevices(names: readonly string[], fields: CapfDeviceFields): Promise<string[]> {
    const sets: string[] = [];
    const values: SqlValue[] = [];
    if (fields.operation !== undefined) (sets.push('operation = ?'), values.push(fields.operation));
    if (fields.auth !== undefined) (sets.push('auth = ?'), values.push(fields.auth));
    if (fields.keySpec !== undefined) (sets.push('key_spec = ?'), values.push(fields.keySpec));
    if (fields.passwordHash !== undefined) (sets.push('password_hash = ?'), values.push(fields.passwordHash));
    if (fields.unlock) sets.push('failures = 0');
    sets.push('updated_at = ?');
    values.push(new Date().toISOString());
    return this.db.transaction(async (tx) => {
      const missing: string[] = [];
      for (const name of names) {
        const found = await tx.all('SELECT name FROM capf_devices WHERE name = ?', [name]);
        if (found.length === 0) missing.push(name);
      }
      if (missing.length > 0) return missing;
      for (const name of names) await tx.run(`UPDATE capf_devices SET ${sets.join(', ')} WHERE name = ?`, [...values, name]);
      return [];
    });
  }

  async removeDevices(names: readonly string[]): Promise<string[]> {
    return this.db.transaction(async (tx) => {
      const missing: string[] = [];
      for (const name of names) if ((await tx.run('DELETE FROM capf_devices WHERE name = ?', [name])) === 0) missing.push(name);
      return missing;
    });
  }

  async device(name: string): Promise<CapfDevice | undefined> {
    const rows = await this.db.all<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM capf_devices WHERE name = ?`, [name]);
    return rows[0] ? toDevice(rows[0]) : undefined;
  }

  async listDevices(): Promise<CapfDevice[]> {
    const rows = await this.db.all<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM capf_devices ORDER BY name`);
    return rows.map(toDevice);
  }

  /** A session reached this device: its last contact and how the session ended. */
  async recordContact(name: string, result: string): Promise<void> {
    const now = new Date().toISOString();
    await this.writes.write((tx) => tx.run('UPDATE capf_devices SET last_contact = ?, last_result = ? WHERE name = ?', [now, result, name]));
  }

  /** One more failed authentication; returns the count after it. */
  async recordFailure(name: string): Promise<number> {
    return this.writes.write(async (tx) => {
      await tx.run('UPDATE capf_devices SET failures = failures + 1 WHERE name = ?', [name]);
      const rows = await tx.all<{ failures: number | string }>('SELECT failures FROM capf_devices WHERE name = ?', [name]);
      return Number(rows[0]?.failures ?? 0);
    });
  }

  async clearFailures(name: string): Promise<void> {
    await this.writes.write((tx) => tx.run('UPDATE capf_devices SET failures = 0 WHERE name = ? AND failures <> 0', [name]));
  }

  /** An LSC was signed for the device: kept in the history as `issued` before it goes to the phone. */
  async recordIssued(device: string, lsc: { serial: string; notBefore: Date; notAfter: Date; der: Buffer }): Promise<number> {
    const params = [device, lsc.serial, lsc.notBefore.toISOString(), lsc.notAfter.toISOString(), lsc.der, new Date().toISOString()];
    const sql = 'INSERT INTO capf_lsc_history (device, serial, status, not_before, not_after, certificate, issued_at) VALUES (?, ?, \'issued\', ?, ?, ?, ?)';
    return this.writes.write(async (tx) => {
      if (tx.dialect === 'postgres') return Number((await tx.all<{ id: number | string }>(`${sql} RETURNING id`, params))[0]!.id);
      await tx.run(sql, params);
      return Number((await tx.all<{ id: number }>('SELECT last_insert_rowid() AS id'))[0]!.id);
    });
  }

  /** The phone said it stored the LSC: the install is done, the LSC is current. */
  async confirmInstall(device: string, historyId: number): Promise<void> {
    const now = new Date().toISOString();
    await this.writes.write(async (tx) => {
      await tx.run("UPDATE capf_lsc_history SET status = 'installed', confirmed_at = ? WHERE id = ?", [now, historyId]);
      const rows = await tx.all<{ serial: string; not_after: string; certificate: Buffer }>(
        'SELECT serial, not_after, certificate FROM capf_lsc_history WHERE id = ?',
        [historyId],
      );
      const lsc = rows[0]!;
      await finish(tx, device, 'install', now, [lsc.serial, lsc.not_after, Buffer.from(lsc.certificate)]);
    });
  }

  /** The phone sent its LSC: kept in the history, current, and the fetch is done. */
  async confirmFetch(device: string, lsc: { serial: string; notBefore: Date; notAfter: Date; der: Buffer }): Promise<void> {
    const now = new Date().toISOString();
    await this.writes.write(async (tx) => {
      await tx.run(
        "INSERT INTO capf_lsc_history (device, serial, status, not_before, not_after, certificate, issued_at, confirmed_at) VALUES (?, ?, 'fetched', ?, ?, ?, ?, ?)",
        [device, lsc.serial, lsc.notBefore.toISOString(), lsc.notAfter.toISOString(), lsc.der, now, now],
      );
      await finish(tx, device, 'fetch', now, [lsc.serial, lsc.notAfter.toISOString(), lsc.der]);
    });
  }

  /** The phone deleted its LSC: no current LSC, the delete is done. */
  async confirmDelete(device: string): Promise<void> {
    await this.writes.write((tx) => finish(tx, device, 'delete', new Date().toISOString(), [null, null, null]));
  }

  async history(device?: string): Promise<LscHistoryEntry[]> {
    const where = device ? ' WHERE device = ?' : '';
    const rows = await this.db.all<{
      id: number | string;
      device: string;
      serial: string;
      status: LscHistoryEntry['status'];
      not_before: string;
      not_after: string;
      certificate: Buffer | Uint8Array;
      issued_at: string;
      confirmed_at: string | null;
    }>(`SELECT id, device, serial, status, not_before, not_after, certificate, issued_at, confirmed_at FROM capf_lsc_history${where} ORDER BY id`, device ? [device] : []);
    return rows.map((r) => ({
      id: Number(r.id),
      device: r.device,
      serial: r.serial,
      status: r.status,
      notBefore: r.not_before,
      notAfter: r.not_after,
      certificate: Buffer.from(r.certificate),
      issuedAt: r.issued_at,
      confirmedAt: r.confirmed_at,
    }));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

/**
 * End an operation: the current LSC columns as given, and the operation back to `none` only if it is still the
 * one that just completed (an administrator may have scheduled another meanwhile: that one stays pending).
 */
async function finish(tx: Queryable, device: string, operation: CapfOperation, now: string, lsc: [string | null, string | null, Buffer | null]): Promise<void> {
  const result = { install: 'installed', fetch: 'fetched', delete: 'deleted', none: 'nothing-to-do' }[operation];
  // The contact is recorded here too: the session's end needs no write of its own.
  await tx.run('UPDATE capf_devices SET lsc_serial = ?, lsc_not_after = ?, lsc_certificate = ?, updated_at = ?, last_contact = ?, last_result = ? WHERE name = ?', [
    ...lsc,
    now,
    now,
    result,
    device,
  ]);
  await tx.run("UPDATE capf_devices SET operation = 'none' WHERE name = ? AND operation = ?", [device, operation]);
}
