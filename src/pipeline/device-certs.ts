import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import { readCertificates } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { readInput } from '../util/read-input';

const CERT_FILE = /\.(pem|crt|cer|der)$/i;
const NAMED_BY_MAC = /^SEP([0-9A-F]{12})\.(pem|crt|cer|der)$/i;
const MAC_IN_CN = /SEP([0-9A-F]{12})/i;

/**
 * `--encrypt-with DIR`: which phones have a certificate, by MAC (upper case) -> certificate file. A file named
 * `SEP<MAC>.pem` (or .crt/.cer/.der) is taken by its name without being read; any other certificate file is
 * read once and matched by the `SEP<MAC>` in its subject CN (LSCs say `CN=SEP001122334455`, MICs
 * `CN=CP-8841-SEP001122334455`). A name match wins over a CN match.
 */
export async function indexDeviceCertificates(dir: string): Promise<Map<string, string>> {
  let handle;
  try {
    handle = await fs.opendir(dir);
  } catch (err) {
    throw new OpenctlError(`--encrypt-with ${dir}: cannot read the folder (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const byName = new Map<string, string>();
  const byCn = new Map<string, string>();
  for await (const entry of handle) {
    if (!entry.isFile() && !entry.isSymbolicLink()) continue;
    const file = path.join(dir, entry.name);
    const named = NAMED_BY_MAC.exec(entry.name);
    if (named) {
      byName.set(named[1].toUpperCase(), file);
      continue;
    }
    if (!CERT_FILE.test(entry.name)) continue;
    const mac = await macOfCertificate(file);
    if (mac && !byCn.has(mac)) byCn.set(mac, file);
  }
  for (const [mac, file] of byName) byCn.set(mac, file);
  return byCn;
}

async function macOfCertificate(file: string): Promise<string | undefined> {
  try {
    const [der] = readCertificates(await readInput(file, 'certificate'));
    const subject = new X509Certificate(der).subject;
    const cn = subject.split('\n').find((line) => line.startsWith('CN='));
    const match = cn ? MAC_IN_CN.exec(cn) : null;
    return match ? match[1].toUpperCase() : undefined;
  } catch {
    return undefined;
  }
}
