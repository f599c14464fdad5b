import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { OpenctlError, FormatError } from '../util/errors';
import { MAX_TEXT_BYTES, readInput } from '../util/read-input';
import { parseFile, parseRoleName } from '../formats';
import { readCertificates } from '../crypto/certificate';
import type { FleetGroup, HeldList, PhoneFile, PhoneTrust, TvsCertificate, TvsModel } from '../trust';
import { fetchUrl, isFetchUrl, type FetchSettings } from './fetch';

/**
 * Turning the command line's file and URL arguments into the trust model's inputs: the files a phone holds,
 * the files to deploy, what TVS knows, a fleet folder. The model itself never reads a file.
 */

/** Extensions of the files a deploy folder contributes (trust lists, signed files, plain configs). */
const DEPLOYABLE = /\.(tlv|sgn|xml|cnf)$/i;

export type InputSettings = Pick<FetchSettings, 'timeoutMs' | 'retries' | 'signal'> & { cwd?: string };

/** Does this look like a Cisco TLV file (header tag 1, length 2)? Plain configs do not. */
function looksLikeTlv(bytes: Buffer): boolean {
  return bytes.length >= 3 && bytes[0] === 1 && bytes[1] === 0 && bytes[2] === 2;
}

/** A file as a phone would get it: parsed when it is a Cisco file, unsigned otherwise (plain XML config). */
export function toPhoneFile(name: string, bytes: Buffer, label = name): PhoneFile {
  const mustParse = /\.(tlv|sgn)$/i.test(name) || looksLikeTlv(bytes);
  if (!mustParse) return { name, bytes };
  try {
    return { name, bytes, parsed: parseFile(bytes, { file: label }) };
  } catch (err) {
    if (err instanceof FormatError) throw err.file ? err : err.withFile(label);
    throw err;
  }
}

/** One file from a path or a tftp:// / http:// URL. */
export async function readPhoneFile(spec: string, settings: InputSettings = {}): Promise<PhoneFile> {
  if (isFetchUrl(spec)) {
    const { name, bytes } = await fetchUrl(spec, settings);
    return toPhoneFile(name, bytes, spec);
  }
  const file = path.resolve(settings.cwd ?? process.cwd(), spec);
  return toPhoneFile(path.basename(file), await readInput(file, 'file'), spec);
}

/**
 * Firmware containers (`.loads`, `.sbn`, `.zz.sgn`: header 1.1) are checked by the phone against Cisco's
 * image-signing key, not against its CTL or ITL: the trust model has no verdict for them.
 */
function isFirmware(file: PhoneFile): boolean {
  return file.parsed?.kind === 'signed' && file.parsed.firmware === true;
}

/**
 * Paths, folders (their deployable files, sorted by name) and URLs, in the order given. A folder's firmware
 * containers are left out; one named on its own is refused with one line.
 */
export async function readPhoneFiles(specs: readonly string[], settings: InputSettings = {}): Promise<PhoneFile[]> {
  const out: PhoneFile[] = [];
  for (const spec of specs) {
    if (!isFetchUrl(spec)) {
      const file = path.resolve(settings.cwd ?? process.cwd(), spec);
      const stat = await fs.stat(file).catch(() => undefined);
      if (stat?.isDirectory()) {
        const names = (await fs.readdir(file)).filter((n) => DEPLOYABLE.test(n) && !n.startsWith('.')).sort();
        for (const n of names) {
          const phoneFile = toPhoneFile(n, await readInput(path.join(file, n), 'file'), path.join(spec, n));
          if (!isFirmware(phoneFile)) out.push(phoneFile);
        }
        continue;
      }
    }
    const phoneFile = await readPhoneFile(spec, settings);
    if (isFirmware(phoneFile)) {
      throw new OpenctlError(
        `${spec}: a signed firmware container (header 1.1): phones check firmware with Cisco's image-signing key, not against their CTL or ITL, so there is no verdict to give (openctl verify --cert checks its signature)`,
      );
    }
    out.push(phoneFile);
  }
  return out;
}

/** What a phone holds, from `--phone-has` arguments: at most one CTL and one ITL. */
export async function readPhoneTrust(specs: readonly string[], sbd: boolean, settings: InputSettings = {}): Promise<PhoneTrust> {
  const phone: PhoneTrust = { sbd };
  for (const spec of specs) {
    const files = await readPhoneFiles([spec], settings);
    const isFolder = files.length !== 1 || !(await isFile(spec, settings));
    // A folder (e.g. what `openctl fetch` wrote) contributes its trust lists; a file must be one.
    for (const file of files) {
      if (isFolder && file.parsed?.kind !== 'ctl' && file.parsed?.kind !== 'itl') continue;
      holdFile(phone, file, isFolder ? path.join(spec, file.name) : spec);
    }
  }
  return phone;
}

async function isFile(spec: string, settings: InputSettings): Promise<boolean> {
  if (isFetchUrl(spec)) return true;
  const stat = await fs.stat(path.resolve(settings.cwd ?? process.cwd(), spec)).catch(() => undefined);
  return !stat || !stat.isDirectory();
}

function holdFile(phone: PhoneTrust, file: PhoneFile, where = file.name): void {
  const parsed = file.parsed;
  if (!parsed || (parsed.kind !== 'ctl' && parsed.kind !== 'itl')) {
    throw new OpenctlError(`${where}: a phone holds only a CTL and an ITL; this is ${parsed ? `a ${parsed.kind} file` : 'not a trust list'}`);
  }
  if (phone[parsed.kind]) {
    throw new OpenctlError(`${where}: the phone already holds an ${parsed.kind.toUpperCase()} (${phone[parsed.kind]!.name}); give one of each at most`);
  }
  const held: HeldList = { name: file.name, list: parsed };
  phone[parsed.kind] = held;
}

/**
 * `--tvs-knows [ROLE:]CERT` (PEM, DER or PKCS#7; every certificate in the file). A role prefix (sast, ccm,
 * ccm-tftp, tftp, capf, tvs, app-server) limits what TVS vouches for it as.
 */
export async function readTvs(knows: readonly string[], serviceCerts: readonly string[], settings: InputSettings = {}): Promise<TvsModel> {
  const known: TvsCertificate[] = [];
  for (const spec of knows) {
    const { role, file } = splitRole(spec);
    for (const certificate of await readCertFile(file, settings)) known.push({ certificate, ...(role === undefined ? {} : { roles: [role] }) });
  }
  const service: Buffer[] = [];
  for (const spec of serviceCerts) service.push(...(await readCertFile(spec, settings)));
  return { knows: known, ...(service.length > 0 ? { serviceCertificates: service } : {}) };
}

const ROLE_PREFIX = /^(sast|ccm|ccm-tftp|tftp|capf|tvs|app-server):(.+)$/i;

function splitRole(spec: string): { role?: number; file: string } {
  const m = ROLE_PREFIX.exec(spec);
  if (!m) return { file: spec };
  return { role: parseRoleName(m[1]!), file: m[2]! };
}

export async function readCertFile(spec: string, settings: InputSettings = {}): Promise<Buffer[]> {
  const file = path.resolve(settings.cwd ?? process.cwd(), spec);
  const bytes = await readInput(file, 'certificate');
  try {
    return readCertificates(bytes);
  } catch (err) {
    throw new OpenctlError(`${spec}: ${(err as Error).message}`);
  }
}

/** Per-group settings a fleet sub-folder may hold in `phone.json`. */
interface GroupJson {
  sbd?: boolean;
  phones?: number;
}

/**
 * `--fleet DIR`: one sub-folder per phone or group of phones, holding the CTL and/or ITL they hold now (none: a
 * phone that holds nothing) and optionally `phone.json` with `{ "sbd": false, "phones": 120 }`.
 */
export async function readFleet(dir: string, sbdDefault: boolean, settings: InputSettings = {}): Promise<FleetGroup[]> {
  const root = path.resolve(settings.cwd ?? process.cwd(), dir);
  let entries;
  try {
    entries = await fs.readdir(root, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OpenctlError(`${dir}: cannot read the fleet folder: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : code}`);
  }
  const groups: FleetGroup[] = [];
  for (const entry of entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const folder = path.join(root, entry.name);
    const names = (await fs.readdir(folder)).filter((n) => !n.startsWith('.')).sort();
    let settingsJson: GroupJson = {};
    if (names.includes('phone.json')) {
      try {
        settingsJson = JSON.parse((await readInput(path.join(folder, 'phone.json'), { maxBytes: MAX_TEXT_BYTES })).toString('utf8')) as GroupJson;
      } catch (err) {
        if (err instanceof OpenctlError) throw err;
        throw new OpenctlError(`${path.join(dir, entry.name, 'phone.json')}: not JSON: ${(err as Error).message}`);
      }
      if (settingsJson.sbd !== undefined && typeof settingsJson.sbd !== 'boolean') {
        throw new OpenctlError(`${path.join(dir, entry.name, 'phone.json')}: "sbd" must be true or false`);
      }
      if (settingsJson.phones !== undefined && !(Number.isInteger(settingsJson.phones) && settingsJson.phones >= 0)) {
        throw new OpenctlError(`${path.join(dir, entry.name, 'phone.json')}: "phones" must be a whole number`);
      }
    }
    const phone: PhoneTrust = { sbd: settingsJson.sbd ?? sbdDefault };
    for (const n of names.filter((x) => /\.tlv$/i.test(x))) {
      const label = path.join(dir, entry.name, n);
      holdFile(phone, toPhoneFile(n, await readInput(path.join(folder, n), 'file'), label), label);
    }
    groups.push({ name: entry.name, phone, ...(settingsJson.phones !== undefined ? { phones: settingsJson.phones } : {}) });
  }
  if (groups.length === 0) throw new OpenctlError(`${dir}: the fleet folder has no sub-folders (one per phone or group)`);
  return groups;
}
