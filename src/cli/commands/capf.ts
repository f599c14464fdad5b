import type { Command } from 'commander';
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { CliContext } from '../context';
import { out, printJson, log } from '../io';
import { collect } from '../options';
import { readInput } from '../inputs';
import { readCertificates } from '../../crypto/certificate';
import { parsePemBundle } from '../../crypto/pem-signer';
import { parseFile } from '../../formats';
import { Role } from '../../formats/model';
import { openServiceStore } from '../../store';
import { CapfStore, CAPF_AUTHS, CAPF_OPERATIONS, type CapfAuth, type CapfDevice, type CapfOperation, type NewCapfDevice } from '../../store/capf';
import { CAPF_MIGRATIONS } from '../../store/capf-migrations';
import { ExitCode, OpenctlError } from '../../util/errors';
import { requireDeviceName } from '../../services/capf/device-name';
import { DEFAULT_KEY_SPEC, formatKeySpec, parseKeySpec } from '../../services/capf/key-spec';
import { hashPassword } from '../../services/capf/password';
import { deviceSummary } from '../../services/capf/device-view';

/**
 * `openctl capf ...`: the devices CAPF enrols (`device add/set/list/remove`, `history`), the service
 * (`serve`) and the phone's side (`enroll`). Passwords come from a file or OPENCTL_CAPF_PASSWORD, never argv.
 */

const PASSWORD_ENV = 'OPENCTL_CAPF_PASSWORD';
const MAX_PASSWORD = 64;

export function register(program: Command, ctx: CliContext): void {
  const capf = program.command('capf').description('CAPF: enrol phones with LSCs (devices, the service on port 3804, a phone client)');
  const device = capf.command('device').description('the devices CAPF knows: operation, authentication, key');

  device
    .command('add')
    .description('declare devices (SEP<MAC>): what each should do and how it authenticates')
    .argument('[devices...]', 'SEP<MAC> names')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .option('--op <op>', 'install, fetch, delete or none', 'install')
    .option('--auth <auth>', 'none, password or mic', 'none')
    .option('--key <spec>', 'rsa:1024..4096, ec:p256, ec:p384 or ec:p521', DEFAULT_KEY_SPEC)
    .option('--password-file <file>', `the password (auth password); else ${PASSWORD_ENV}`)
    .option('--from-csv <file>', 'devices from a CSV file: device[,op,auth,key,password] with a header line')
    .option('--replace', 'replace devices that exist already (default: refuse)')
    .action(async (names: string[], opts: AddOptions) => {
      const base = { operation: parseOperation(opts.op), auth: parseAuth(opts.auth), keySpec: formatKeySpec(parseKeySpec(opts.key)) };
      const rows: Array<{ name: string; operation: CapfOperation; auth: CapfAuth; keySpec: string; password?: string }> = names.map((n) => ({
        ...base,
        name: requireDeviceName(n),
      }));
      if (opts.fromCsv) rows.push(...(await readCsv(opts.fromCsv, base)));
      if (rows.length === 0) throw new OpenctlError('capf device add: name devices (SEP<MAC>...) or give --from-csv FILE');
      const duplicate = rows.find((r, i) => rows.findIndex((o) => o.name === r.name) !== i);
      if (duplicate) throw new OpenctlError(`capf device add: ${duplicate.name} is named twice`);
      const needsShared = rows.some((r) => r.auth === 'password' && r.password === undefined);
      const shared = needsShared ? await readPassword(opts.passwordFile, ctx) : undefined;
      if (!needsShared && opts.passwordFile) await readPassword(opts.passwordFile, ctx); // still check it is readable
      const hashes = new Map<string, string>();
      const devices: NewCapfDevice[] = [];
      for (const r of rows) {
        let passwordHash: string | null = null;
        if (r.auth === 'password') {
          const password = r.password ?? shared!;
          passwordHash = hashes.get(password) ?? (await hashPassword(password));
          hashes.set(password, passwordHash); // one scrypt per distinct password: thousands of rows stay quick
        }
        devices.push({ name: r.name, operation: r.operation, auth: r.auth, keySpec: r.keySpec, passwordHash });
      }
      await withStore(opts.db, ctx, async (store) => {
        const existing = await store.addDevices(devices, { replace: opts.replace });
        if (existing.length > 0 && !opts.replace) {
          throw new OpenctlError(`${existing.length} device(s) exist already (${existing.slice(0, 5).join(', ')}${existing.length > 5 ? '...' : ''}): use capf device set, or --replace`);
        }
        out(ctx.io, `${devices.length} device(s) ${opts.replace ? 'added or replaced' : 'added'}`);
      });
    });

  device
    .command('set')
    .description('change what is named (operation, authentication, key, password), nothing else')
    .argument('<devices...>', 'SEP<MAC> names')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .option('--op <op>', 'install, fetch, delete or none')
    .option('--auth <auth>', 'none, password or mic')
    .option('--key <spec>', 'rsa:1024..4096, ec:p256, ec:p384 or ec:p521')
    .option('--password-file <file>', `set the password from this file (or ${PASSWORD_ENV} with --password)`)
    .option('--password', `set the password from ${PASSWORD_ENV}`)
    .option('--unlock', 'clear the failed-authentication count (unlock after a lockout)')
    .action(async (names: string[], opts: SetOptions) => {
      const devices = names.map((n) => requireDeviceName(n));
      const fields = {
        operation: opts.op === undefined ? undefined : parseOperation(opts.op),
        auth: opts.auth === undefined ? undefined : parseAuth(opts.auth),
        keySpec: opts.key === undefined ? undefined : formatKeySpec(parseKeySpec(opts.key)),
        passwordHash: opts.passwordFile || opts.password ? await hashPassword(await readPassword(opts.passwordFile, ctx)) : undefined,
        unlock: opts.unlock,
      };
      if (Object.values(fields).every((v) => v === undefined)) throw new OpenctlError('capf device set: nothing to change (--op, --auth, --key, --password-file, --unlock)');
      await withStore(opts.db, ctx, async (store) => {
        if (fields.auth === 'password' && fields.passwordHash === undefined) {
          const lacking = [];
          for (const name of devices) if (!(await store.device(name))?.passwordHash) lacking.push(name);
          if (lacking.length > 0) throw new OpenctlError(`--auth password: ${lacking.join(', ')} has no password yet; give --password-file FILE`);
        }
        const missing = await store.setDevices(devices, fields);
        if (missing.length > 0) throw new OpenctlError(`no such device: ${missing.join(', ')} (nothing changed)`);
        out(ctx.io, `${devices.length} device(s) updated`);
      });
    });

  device
    .command('list')
    .description('every device: operation, authentication, key, current LSC, failures, last contact')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .option('--json', 'print as JSON (schema: docs/json.md)')
    .action(async (opts: { db: string; json?: boolean }) => {
      await withStore(opts.db, ctx, async (store) => {
        const devices = await store.listDevices();
        if (opts.json) {
          printJson(ctx.io, { devices: devices.map(deviceSummary) });
          return;
        }
        if (devices.length === 0) {
          out(ctx.io, 'no devices');
          return;
        }
        out(ctx.io, ['DEVICE', 'OP', 'AUTH', 'KEY', 'LSC SERIAL', 'LSC EXPIRES', 'FAILURES', 'LAST CONTACT'].join('\t'));
        for (const d of devices) {
          out(ctx.io, [d.name, d.operation, d.auth, d.keySpec, d.lscSerial ?? '-', d.lscNotAfter ?? '-', String(d.failures), d.lastContact ? `${d.lastContact} ${d.lastResult ?? ''}`.trim() : '-'].join('\t'));
        }
      });
    });

  device
    .command('remove')
    .description('forget devices (their LSC history is kept)')
    .argument('<devices...>', 'SEP<MAC> names')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .action(async (names: string[], opts: { db: string }) => {
      const devices = names.map((n) => requireDeviceName(n));
      await withStore(opts.db, ctx, async (store) => {
        const missing = await store.removeDevices(devices);
        out(ctx.io, `${devices.length - missing.length} device(s) removed`);
        if (missing.length > 0) {
          log(ctx.io, `openctl: no such device: ${missing.join(', ')}`);
          ctx.setExitCode(ExitCode.Rejected);
        }
      });
    });

  capf
    .command('history')
    .description('every LSC issued (installed, or issued and never confirmed) and fetched')
    .argument('[device]', 'only this SEP<MAC>')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .option('--json', 'print as JSON (schema: docs/json.md)')
    .action(async (name: string | undefined, opts: { db: string; json?: boolean }) => {
      const device = name === undefined ? undefined : requireDeviceName(name);
      await withStore(opts.db, ctx, async (store) => {
        const entries = await store.history(device);
        if (opts.json) {
          printJson(ctx.io, {
            lscs: entries.map((e) => ({ device: e.device, serial: e.serial, status: e.status, notBefore: e.notBefore, notAfter: e.notAfter, issuedAt: e.issuedAt, confirmedAt: e.confirmedAt, pem: pem(e.certificate) })),
          });
          return;
        }
        if (entries.length === 0) out(ctx.io, 'no LSC issued yet');
        for (const e of entries) out(ctx.io, [e.device, e.serial, e.status, e.notAfter, e.issuedAt].join('\t'));
      });
    });

  const serve = capf
    .command('serve')
    .description('run CAPF (TLS, port 3804): enrol the devices of the store')
    .requiredOption('--db <db>', 'store: SQLite file or postgres:// URL')
    .requiredOption('--signer <pem>', 'the CAPF TLS key and certificate (PEM; the certificate listed with role CAPF in the ITL)')
    .requiredOption('--issuer <signer>', 'the issuing CA key: a PEM file, or a pkcs11: URI (the key stays on the token)')
    .option('--issuer-cert <cert>', 'the issuing CA certificate (default: the one in the --issuer PEM or on the token)')
    .option('--chain <cert>', 'certificates above the issuing CA (repeatable): trusted for LSC authentication', collect, [])
    .option('--mic-ca <cert>', 'CA certificates (roots and intermediates) that MICs chain to (repeatable)', collect, [])
    .requiredOption('--out <dir>', 'folder for SEP<MAC>.pem (each issued LSC) and the audit log')
    .option('--days <n>', 'LSC validity in days', '1825')
    .option('--listen <host:port>', 'address to listen on (repeatable; default: port 3804 on every address)', collect, [])
    .option('--tls-min <version>', 'lowest TLS version: 1.2 (default), 1.0 for older phones', '1.2')
    .option('--metrics <host:port>', 'serve Prometheus /metrics and /health here')
    .option('--audit <file>', 'append-only JSON-lines audit log (default: OUT/capf-audit.jsonl)')
    .option('--max-sessions <n>', 'sessions at once; more get "retry later"', '256')
    .option('--max-failures <n>', 'failed authentications before a device is locked', '5')
    .option('--timeout <seconds>', 'handshake and per-message timeout', '10')
    .option('--keygen-timeout <seconds>', 'time a phone has to generate its key', '120')
    .option('--no-wait', 'fail (exit 3) instead of asking to insert a token that is not present');
  serve.action(async (opts: ServeCliOptions) => {
    const { serveCapf } = require('./capf-serve') as typeof import('./capf-serve');
    await serveCapf(opts, ctx, program.opts<{ debug?: boolean }>().debug === true);
  });

  capf
    .command('enroll')
    .description('the phone\'s side: enrol as SEP<MAC> and do what the server asks (labs and tests)')
    .argument('<server>', 'HOST[:PORT] (default port 3804)')
    .argument('<device>', 'SEP<MAC>')
    .requiredOption('--capf-cert <cert>', 'the CAPF certificate, or a CTL/ITL whose CAPF records name it')
    .requiredOption('--out <dir>', 'where SEP<MAC>.pem and SEP<MAC>.key go')
    .option('--key <spec>', 'generate this key whatever the server asks (rsa:2048, ec:p256...)')
    .option('--password-file <file>', `the device password (else ${PASSWORD_ENV}, if set)`)
    .option('--mic <pem>', 'authenticate with this certificate and key (PEM: the MIC or the current LSC)')
    .option('--timeout <seconds>', 'per-step timeout', '30')
    .option('--json', 'print the result as JSON (schema: docs/json.md)')
    .action(async (server: string, name: string, opts: EnrollCliOptions) => {
      const { enroll } = require('../../services/capf/client') as typeof import('../../services/capf/client');
      const { host, port } = parseServer(server);
      const device = requireDeviceName(name);
      const capfCertificates = await readCapfCertificates(opts.capfCert);
      const password = opts.passwordFile ? await readPassword(opts.passwordFile, ctx) : ctx.io.env[PASSWORD_ENV];
      const mic = opts.mic ? await readMic(opts.mic) : undefined;
      const outDir = path.resolve(ctx.io.cwd, opts.out);
      await checkFolder(outDir, '--out');
      const result = await enroll({
        host,
        port,
        device,
        capfCertificates,
        outDir,
        password,
        mic,
        forceKey: opts.key ? parseKeySpec(opts.key) : undefined,
        timeoutMs: parseSeconds(opts.timeout, '--timeout') * 1000,
      });
      if (opts.json) printJson(ctx.io, { device, server: `${host}:${port}`, ...result });
      if (result.status === 'refused') {
        if (!opts.json) log(ctx.io, `openctl: ${device}: refused by CAPF: ${result.message} (reason ${result.reason})`);
        ctx.setExitCode(ExitCode.Rejected);
        return;
      }
      if (result.status === 'busy') {
        if (!opts.json) log(ctx.io, `openctl: ${host}:${port}: ${result.message}`);
        ctx.setExitCode(ExitCode.Network);
        return;
      }
      if (opts.json) return;
      if (result.status === 'installed') out(ctx.io, `${device}: LSC installed (serial ${result.serial}): ${result.files.join(', ')}`);
      else if (result.status === 'fetched') out(ctx.io, `${device}: LSC sent to CAPF`);
      else if (result.status === 'deleted') out(ctx.io, `${device}: LSC deleted`);
      else out(ctx.io, `${device}: nothing to do`);
    });
}

interface AddOptions {
  db: string;
  op: string;
  auth: string;
  key: string;
  passwordFile?: string;
  fromCsv?: string;
  replace?: boolean;
}

interface SetOptions {
  db: string;
  op?: string;
  auth?: string;
  key?: string;
  passwordFile?: string;
  password?: boolean;
  unlock?: boolean;
}

export interface ServeCliOptions {
  db: string;
  signer: string;
  issuer: string;
  issuerCert?: string;
  chain: string[];
  micCa: string[];
  out: string;
  days: string;
  listen: string[];
  tlsMin: string;
  metrics?: string;
  audit?: string;
  maxSessions: string;
  maxFailures: string;
  timeout: string;
  keygenTimeout: string;
  wait?: boolean;
}

interface EnrollCliOptions {
  capfCert: string;
  out: string;
  key?: string;
  passwordFile?: string;
  mic?: string;
  timeout: string;
  json?: boolean;
}

export async function withStore<T>(db: string, ctx: CliContext, fn: (store: CapfStore) => Promise<T>): Promise<T> {
  const store = new CapfStore(await openServiceStore(db, [CAPF_MIGRATIONS], { cwd: ctx.io.cwd }));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function parseOperation(value: string): CapfOperation {
  if ((CAPF_OPERATIONS as readonly string[]).includes(value)) return value as CapfOperation;
  throw new OpenctlError(`--op must be install, fetch, delete or none, not "${value}"`);
}

function parseAuth(value: string): CapfAuth {
  if ((CAPF_AUTHS as readonly string[]).includes(value)) return value as CapfAuth;
  throw new OpenctlError(`--auth must be none, password or mic, not "${value}"`);
}

export function parseCount(value: string, option: string, min = 1, max = 1_000_000): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new OpenctlError(`${option} must be a whole number from ${min} to ${max}, not "${value}"`);
  return Number(value);
}

export function parseSeconds(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n <= 0 || n > 3600) throw new OpenctlError(`${option} must be seconds (more than 0, at most 3600), not "${value}"`);
  return n;
}

/** The password: from the file (one line, its newline dropped), else OPENCTL_CAPF_PASSWORD. Never from argv. */
async function readPassword(file: string | undefined, ctx: CliContext): Promise<string> {
  let password: string;
  if (file) {
    const bytes = await readInput(path.resolve(ctx.io.cwd, file), 'password file');
    password = bytes.toString('utf8').replace(/\r?\n$/, '');
    if (password.length === 0) throw new OpenctlError(`${file}: the password file is empty`);
  } else {
    const fromEnv = ctx.io.env[PASSWORD_ENV];
    if (!fromEnv) throw new OpenctlError(`a password is needed: --password-file FILE or ${PASSWORD_ENV} (never on the command line)`);
    password = fromEnv;
  }
  checkPassword(password, file ?? PASSWORD_ENV);
  return password;
}

/** Phones send the password as NUL-terminated ASCII: refuse what they cannot type or send. */
function checkPassword(password: string, where: string): void {
  if (password.length > MAX_PASSWORD) throw new OpenctlError(`${where}: the password is longer than ${MAX_PASSWORD} characters`);
  if (!/^[\x20-\x7e]+$/.test(password)) throw new OpenctlError(`${where}: the password must be printable ASCII (phones send ASCII)`);
}

async function readCsv(file: string, base: { operation: CapfOperation; auth: CapfAuth; keySpec: string }) {
  const text = (await readInput(file, 'CSV file')).toString('utf8');
  const lines = text.split(/\r?\n/).map((l, i) => ({ line: i + 1, text: l.trim() })).filter((l) => l.text && !l.text.startsWith('#'));
  if (lines.length === 0) throw new OpenctlError(`${file}: empty (expected a header line: device[,op,auth,key,password])`);
  const header = lines[0]!.text.split(',').map((h) => h.trim().toLowerCase());
  const known = ['device', 'op', 'auth', 'key', 'password'];
  const unknown = header.find((h) => !known.includes(h));
  if (unknown !== undefined || !header.includes('device')) {
    throw new OpenctlError(`${file}: line 1: the header must name columns among ${known.join(', ')} (device required)${unknown !== undefined ? `, not "${unknown}"` : ''}`);
  }
  return lines.slice(1).map(({ line, text: row }) => {
    const cells = row.split(',').map((c) => c.trim());
    if (cells.length !== header.length) throw new OpenctlError(`${file}: line ${line}: ${cells.length} columns, the header has ${header.length}`);
    const cell = (name: string) => {
      const i = header.indexOf(name);
      return i < 0 || cells[i] === '' ? undefined : cells[i];
    };
    try {
      const password = cell('password');
      if (password !== undefined) checkPassword(password, `${file}: line ${line}`);
      return {
        name: requireDeviceName(cell('device') ?? ''),
        operation: cell('op') === undefined ? base.operation : parseOperation(cell('op')!),
        auth: cell('auth') === undefined ? base.auth : parseAuth(cell('auth')!),
        keySpec: cell('key') === undefined ? base.keySpec : formatKeySpec(parseKeySpec(cell('key')!)),
        password,
      };
    } catch (err) {
      if (err instanceof OpenctlError && !err.message.startsWith(file)) throw new OpenctlError(`${file}: line ${line}: ${err.message}`);
      throw err;
    }
  });
}


function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

function parseServer(spec: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(spec);
  const m = v6 ?? /^([^:]+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new OpenctlError(`server "${spec}": expected HOST[:PORT]`);
  const port = m[2] === undefined ? 3804 : Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new OpenctlError(`server "${spec}": the port must be 1 to 65535`);
  return { host: m[1]!, port };
}

/** `--capf-cert`: a certificate file, or a CTL/ITL whose records with role CAPF name the certificates. */
export async function readCapfCertificates(file: string): Promise<Buffer[]> {
  const bytes = await readInput(file, 'certificate or trust list');
  if (!bytes.subarray(0, 64).toString('latin1').includes('-----BEGIN')) {
    let list;
    try {
      list = parseFile(bytes, { file });
    } catch {
      list = undefined;
    }
    if (list && (list.kind === 'ctl' || list.kind === 'itl')) {
      const certs = list.records.filter((r) => r.role === Role.CAPF && r.certificate).map((r) => r.certificate!);
      if (certs.length === 0) throw new OpenctlError(`${file}: the ${list.kind.toUpperCase()} has no CAPF record with a certificate`);
      return certs;
    }
  }
  try {
    return readCertificates(bytes);
  } catch (err) {
    throw new OpenctlError(`${file}: ${(err as Error).message}`);
  }
}

async function readMic(file: string): Promise<{ key: KeyObject; certificate: Buffer }> {
  const text = (await readInput(file, 'MIC PEM')).toString('utf8');
  const { key, certificate } = parsePemBundle(text, file);
  if (!new X509Certificate(certificate).checkPrivateKey(key)) throw new OpenctlError(`${file}: the private key does not belong to the certificate`);
  return { key: createPrivateKey(key.export({ type: 'pkcs8', format: 'pem' })), certificate };
}

export async function checkFolder(dir: string, option: string): Promise<void> {
  let stat;
  try {
    stat = await fs.stat(dir);
  } catch {
    throw new OpenctlError(`${option} ${dir}: no such folder`);
  }
  if (!stat.isDirectory()) throw new OpenctlError(`${option} ${dir}: not a folder`);
}

