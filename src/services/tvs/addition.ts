import { certificateInfo, readCertificates } from '../../crypto/certificate';
import { parseFile } from '../../formats';
import { sha256Hex, type TvsPut } from '../../store/tvs';
import { OpenctlError } from '../../util/errors';

/**
 * What one `tvs add` (CLI or GUI) vouches for, by SHA-256: a certificate named twice, or found in a file and in a
 * list, is one entry with the union of its roles. Errors name where the certificate came from.
 */
export class TvsAddition {
  private readonly byHash = new Map<string, TvsPut>();

  constructor(private readonly ttl: number) {}

  /** One certificate (DER) in these roles; `source` names it in errors ("FILE", "FILE: record at byte N"). */
  add(der: Buffer, roles: readonly number[], source: string): void {
    let info;
    try {
      info = certificateInfo(der);
    } catch (err) {
      throw new OpenctlError(`${source}: ${(err as Error).message}`);
    }
    const key = sha256Hex(der);
    const known = this.byHash.get(key);
    if (known) known.roles = [...new Set([...known.roles, ...roles])];
    else this.byHash.set(key, { certificate: der, roles: [...roles], ttl: this.ttl, serial: info.serialHex, subject: info.subject, issuer: info.issuer });
  }

  /** Every certificate of a certificate file (PEM, DER, PKCS#7), in these roles. */
  addFile(bytes: Buffer, roles: readonly number[], name: string): void {
    let ders: Buffer[];
    try {
      ders = readCertificates(bytes);
    } catch (err) {
      throw new OpenctlError(`${name}: ${(err as Error).message}`);
    }
    for (const der of ders) this.add(der, roles, name);
  }

  /**
   * Every record of a CTL or ITL that carries a certificate, in its own role. Records whose role does not fit TVS's
   * one-byte roles are left out and described in `skipped` (the caller says so).
   */
  addList(bytes: Buffer, name: string): { taken: number; skipped: string[] } {
    const parsed = parseFile(bytes, { file: name });
    if (parsed.kind !== 'ctl' && parsed.kind !== 'itl') throw new OpenctlError(`${name}: is a ${parsed.kind} file, not a CTL or ITL`);
    let taken = 0;
    const skipped: string[] = [];
    for (const record of parsed.records) {
      if (!record.certificate) continue;
      if (record.role === undefined || record.role > 255) {
        skipped.push(`${name}: record at byte ${record.offset} skipped: role ${record.role ?? 'missing'} does not fit TVS's one-byte roles`);
        continue;
      }
      this.add(record.certificate, [record.role], `${name}: record at byte ${record.offset}`);
      taken += 1;
    }
    return { taken, skipped };
  }

  get size(): number {
    return this.byHash.size;
  }

  entries(): TvsPut[] {
    return [...this.byHash.values()];
  }

  entry(sha256: string): TvsPut | undefined {
    return this.byHash.get(sha256);
  }
}
