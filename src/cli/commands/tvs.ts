import * as path from 'node:path';
import { X509Certificate } from 'node:crypto';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { promises as fs } from 'node:fs';
import { readInput } from '../inputs';
import { safeText } from '../../util/safe-text';
import { log, out, printJson } from '../io';
import { ExitCode, OpenctlError } from '../../util/errors';
import { certificateInfo, readCertificates } from '../../crypto/certificate';
import { parsePemBundle } from '../../crypto/pem-signer';
import { roleName } from '../../formats/roles';
import { ROLE_BY_NAME } from '../../cluster/roles';
import { isPkcs11Uri } from '../../pkcs11/uri';
import { openServiceStore, redactUrl, isPostgresUrl, schemaVersions } from '../../store';
import { TVS_MIGRATIONS, TTL_DEFAULT, TTL_MAX, TTL_MIN, TvsStore, sha256Hex } from '../../store/tvs';
import { jsonLogger, parseListen, parseTlsMin, runServe, ServiceMetrics, startMetricsServer, DEFAULTS } from '../../services/common';
import { startTvsServer, TVS_DEFAULTS } from '../../services/tvs/server';
import { DEFAULT_DEVICE, parseTvsTarget, queryTvs, tvsAnchorsFrom } from '../../services/tvs/client';
import { DEVICE_NAME } from '../../services/tvs/messages';
import { TvsAddition } from '../../services/tvs/addition';

/** `openctl tvs add|remove|list|serve|query`: the Trust Verification Service, its store and a client. */
export function register(program: Command, ctx: CliContext): void {
  const tvs = program.command('tvs').description('the Trust Verification Service phones ask on port 2445: its certificate store, the server, a client');
  const resolve = (file: string) => path.resolve(ctx.io.cwd, file);
  // The server gives a busy or unreachable store 2 s per request (a phone waits for its answer); commands 10 s.
  const open = async (db: string, busyBudgetMs = 10_000) => new TvsStore(await openServiceStore(db, [TVS_MIGRATIONS], { cwd: ctx.io.cwd, busyBudgetMs }));
  const shown = (db: string) => (isPostgresUrl(db) ? redactUrl(db) : db);

  tvs
    .command('add')
    .description('vouch for certificates (again: update their roles and TTL)')
    .requiredOption('--db <db>', 'the store: a SQLite file (created on first use) or a postgres:// URL')
    .argument('[certs...]', 'certificate files (PEM, DER, PKCS#7; every certificate in each)')
    .option('--roles <roles>', `roles for CERTs, comma-separated: ${Object.keys(ROLE_BY_NAME).join(', ')}`)
    .option('--from <lists...>', 'CTL or ITL files: every record with a certificate, with its role')
    .option('--ttl <seconds>', `how long phones may cache the answer (${TTL_MIN} to ${TTL_MAX}, default ${TTL_DEFAULT})`)
    .option('--json', 'print what was added and updated as JSON')
    .action(async (certs: string[], opts: { db: string; roles?: string; from?: string[]; ttl?: string; json?: boolean }) => {
      const ttl = parseTtl(opts.ttl);
      if (certs.length > 0 && !opts.roles) throw new OpenctlError('--roles is required with certificate files (e.g. --roles ccm,app-server)');
      if (certs.length === 0 && opts.roles) throw new OpenctlError('--roles names the roles of certificate files: give at least one');
      if (certs.length === 0 && !opts.from?.length) throw new OpenctlError('give certificate files with --roles, or --from CTL_OR_ITL');
      const roles = opts.roles ? parseRoles(opts.roles) : [];
      const addition = new TvsAddition(ttl);
      for (const file of certs) {
        const bytes = await readInput(resolve(file), 'certificate');
        addition.addFile(bytes, roles, file);
      }
      for (const file of opts.from ?? []) {
        const { taken, skipped } = addition.addList(await readInput(resolve(file), 'CTL or ITL'), file);
        for (const line of skipped) log(ctx.io, `openctl: ${line}`);
        if (taken === 0) log(ctx.io, `openctl: ${file}: no record with a certificate`);
      }
      const store = await open(opts.db);
      try {
        const { added, updated } = await store.put(addition.entries());
        const describe = (key: string) => {
          const e = addition.entry(key)!;
          return { sha256: key, subject: e.subject, roles: e.roles.map(roleName), ttl: e.ttl };
        };
        if (opts.json) {
          printJson(ctx.io, { store: shown(opts.db), added: added.map(describe), updated: updated.map(describe) });
        } else {
          for (const key of added) out(ctx.io, line('added', describe(key)));
          for (const key of updated) out(ctx.io, line('updated', describe(key)));
        }
      } finally {
        await store.db.close();
      }
    });

  tvs
    .command('remove')
    .description('stop vouching for a certificate')
    .requiredOption('--db <db>', 'the store: a SQLite file or a postgres:// URL')
    .argument('<certs...>', 'certificate files, or SHA-256 hashes of certificates (64 hex digits, as `tvs list` prints)')
    .option('--json', 'print what was removed as JSON')
    .action(async (specs: string[], opts: { db: string; json?: boolean }) => {
      const hashes: Array<{ spec: string; sha256: string }> = [];
      for (const spec of specs) {
        const hex = spec.replace(/[:\s]/g, '').toLowerCase();
        if (/^[0-9a-f]{64}$/.test(hex)) {
          hashes.push({ spec, sha256: hex });
          continue;
        }
        const ders = readCertificates(await readInput(resolve(spec), 'certificate'));
        for (const der of ders) hashes.push({ spec, sha256: sha256Hex(der) });
      }
      const store = await open(opts.db);
      const removed: string[] = [];
      const unknown: string[] = [];
      try {
        for (const h of hashes) ((await store.remove(h.sha256)) ? removed : unknown).push(h.sha256);
      } finally {
        await store.db.close();
      }
      if (opts.json) printJson(ctx.io, { store: shown(opts.db), removed, unknown });
      else {
        for (const key of removed) out(ctx.io, `removed ${key}`);
        for (const key of unknown) log(ctx.io, `openctl: ${key}: not in the store`);
      }
      if (unknown.length > 0) ctx.setExitCode(ExitCode.Rejected);
    });

  tvs
    .command('list')
    .description('the certificates TVS vouches for')
    .requiredOption('--db <db>', 'the store: a SQLite file or a postgres:// URL')
    .option('--json', 'print as JSON')
    .action(async (opts: { db: string; json?: boolean }) => {
      const store = await open(opts.db);
      try {
        const entries = await store.list();
        if (opts.json) {
          const versions = await schemaVersions(store.db);
          printJson(ctx.io, {
            store: shown(opts.db),
            schemaVersion: versions.tvs ?? 0,
            certificates: entries.map((e) => ({
              sha256: e.sha256,
              subject: e.subject,
              issuer: e.issuer,
              serial: e.serial,
              roles: e.roles.map(roleName),
              ttl: e.ttl,
              addedAt: e.addedAt,
              updatedAt: e.updatedAt,
            })),
          });
          return;
        }
        if (entries.length === 0) out(ctx.io, `${shown(opts.db)}: TVS vouches for no certificate`);
        for (const e of entries) out(ctx.io, line(e.sha256, { subject: e.subject, roles: e.roles.map(roleName), ttl: e.ttl }));
      } finally {
        await store.db.close();
      }
    });

  tvs
    .command('serve')
    .description('run the TVS server (TLS) until SIGTERM')
    .requiredOption('--db <db>', 'the store: a SQLite file or a postgres:// URL (every node of a cluster may share one)')
    .requiredOption('--signer <pem>', "the TVS key and certificate, one PEM file (the certificate phones find with role TVS in their ITL)")
    .option('--listen <host:port>', 'where to listen (repeatable; default: port 2445 on every address, IPv4 and IPv6; port 0 picks a free port)', collectList, [])
    .option('--tls-min <version>', 'lowest TLS version: 1.2 (default), 1.3, or 1.0 / 1.1 for older phones (7900 series)', '1.2')
    .option('--metrics <host:port>', 'serve Prometheus metrics (/metrics) and a health check (/health) over HTTP there')
    .option('--max-connections <n>', 'open connections at most; more are closed at once (default 1024)')
    .option('--handshake-timeout <ms>', 'TLS handshake time limit (default 10000)')
    .option('--request-timeout <ms>', 'time limit for the request after the handshake (default 10000)')
    .option('--max-request-bytes <n>', 'largest request accepted, header included (default 16384)')
    .option('--drain-timeout <ms>', 'after SIGTERM, how long requests in flight may take to finish (default 10000)')
    .action(async (opts: ServeOpts) => {
      const listen = opts.listen.map((l) => parseListen(l));
      const metricsAt = opts.metrics ? parseListen(opts.metrics, '--metrics') : undefined;
      const tlsMin = parseTlsMin(opts.tlsMin);
      const limits = {
        maxConnections: intOption(opts.maxConnections, '--max-connections', 1, 1_000_000, DEFAULTS.maxConnections),
        handshakeTimeoutMs: intOption(opts.handshakeTimeout, '--handshake-timeout', 10, 600_000, DEFAULTS.handshakeTimeoutMs),
        requestTimeoutMs: intOption(opts.requestTimeout, '--request-timeout', 10, 600_000, TVS_DEFAULTS.requestTimeoutMs),
        maxRequestBytes: intOption(opts.maxRequestBytes, '--max-request-bytes', 64, 65_545, TVS_DEFAULTS.maxRequestBytes),
      };
      const drainMs = intOption(opts.drainTimeout, '--drain-timeout', 0, 600_000, 10_000);
      const { key, certificate } = await readTlsSigner(opts.signer, resolve(opts.signer));
      ctx.stopsOnSignal();
      const store = await open(opts.db, 2000);
      const logger = jsonLogger(ctx.io.stderr, { service: 'tvs' });
      const metrics = new ServiceMetrics('openctl_tvs');
      let running;
      let metricsServer;
      try {
        running = await startTvsServer({ store, listen, key, certificates: [certificate], tlsMin, log: logger, metrics, ...limits });
        if (metricsAt) {
          metricsServer = await startMetricsServer(metricsAt, metrics, async () => {
            await store.db.ping();
            return { ok: true, detail: { store: store.db.description, certificates: await store.count() } };
          }).catch((err: NodeJS.ErrnoException) => {
            throw new OpenctlError(`--metrics ${opts.metrics}: ${err.code === 'EADDRINUSE' ? 'the address is in use' : err.message}`);
          });
        }
      } catch (err) {
        await running?.drain(0);
        await store.db.close();
        throw err;
      }
      logger.log('store', { store: store.db.description, certificates: await store.count(), tlsMin });
      await runServe({ stdout: ctx.io.stdout, signal: ctx.signal, service: running, metricsServer, log: logger, graceMs: drainMs, close: () => store.db.close() });
    });

  tvs
    .command('query')
    .description('ask a TVS whether it vouches for a certificate, as a phone does (exit 0 trusted, 1 not trusted, 4 no answer)')
    .argument('<server>', 'HOST[:PORT] of the TVS (port 2445 by default)')
    .argument('<cert>', 'the certificate to ask about (its first certificate)')
    .requiredOption('--tvs-cert <cert-or-itl>', "what authenticates the server: its certificate, or an ITL whose TVS records must name it (as a phone's ITL does)")
    .option('--device <name>', `the phone's name, CP-<model>-SEP<MAC> (default ${DEFAULT_DEVICE})`, DEFAULT_DEVICE)
    .option('--timeout <ms>', 'time limit for connecting and for the answer (default 10000)')
    .option('--tls-min <version>', 'lowest TLS version to offer: 1.2 (default), 1.0 for old servers', '1.2')
    .option('--json', 'print the answer as JSON')
    .action(async (server: string, certFile: string, opts: { tvsCert: string; device: string; timeout?: string; tlsMin: string; json?: boolean }) => {
      const target = parseTvsTarget(server);
      if (!DEVICE_NAME.test(opts.device)) throw new OpenctlError(`--device "${opts.device}": expected CP-<4 digits>-SEP<12 upper-case hex digits>, e.g. CP-8845-SEP0011223344AA`);
      const timeoutMs = intOption(opts.timeout, '--timeout', 1, 600_000, 10_000);
      const tlsMin = ({ '1.0': 'TLSv1', '1.1': 'TLSv1.1', '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' } as const)[parseTlsMin(opts.tlsMin)];
      const anchors = tvsAnchorsFrom(await readInput(resolve(opts.tvsCert), 'certificate or ITL'), opts.tvsCert);
      const [certificate] = readCertificatesNamed(await readInput(resolve(certFile), 'certificate'), certFile);
      const info = certificateInfo(certificate!);
      const answer = await queryTvs(target, anchors, { certificate: certificate!, deviceName: opts.device }, { timeoutMs, tlsMin });
      const r = answer.response;
      const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
      if (opts.json) {
        printJson(ctx.io, {
          server: where,
          device: opts.device,
          certificate: { file: certFile, sha256: sha256Hex(certificate!), subject: info.subject },
          trusted: r.trusted,
          ...(r.trusted ? { roles: r.roles.map(roleName), ttl: r.ttl } : {}),
          serverCertificateSha256: sha256Hex(answer.serverCertificate),
          ms: Math.round(answer.ms * 100) / 100,
        });
      } else if (r.trusted) {
        out(ctx.io, `trusted: ${safeText(info.subject)}: roles ${r.roles.map(roleName).join(', ') || '(none)'}; TTL ${r.ttl} s (TVS ${where})`);
      } else {
        out(ctx.io, `not trusted: ${safeText(info.subject)} (TVS ${where})`);
      }
      ctx.setExitCode(r.trusted ? ExitCode.Ok : ExitCode.Rejected);
    });
}

interface ServeOpts {
  db: string;
  signer: string;
  listen: string[];
  tlsMin: string;
  metrics?: string;
  maxConnections?: string;
  handshakeTimeout?: string;
  requestTimeout?: string;
  maxRequestBytes?: string;
  drainTimeout?: string;
}

function collectList(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function line(head: string, e: { subject: string; roles: string[]; ttl: number; sha256?: string }): string {
  return `${head}  ${e.roles.join(',') || '-'}  ttl ${e.ttl}  ${safeText(e.subject)}`;
}


export function parseTtl(value: string | undefined): number {
  if (value === undefined) return TTL_DEFAULT;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < TTL_MIN || n > TTL_MAX) {
    throw new OpenctlError(`--ttl must be whole seconds from ${TTL_MIN} to ${TTL_MAX} (30 days), not "${value}"`);
  }
  return n;
}

/** Role names as `ctl build` spells them (its options and the cluster file): sast, ccm, ccm-tftp... */
export function parseRoles(value: string): number[] {
  const roles: number[] = [];
  for (const part of value.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const role = ROLE_BY_NAME[part];
    if (role === undefined) throw new OpenctlError(`--roles: unknown role "${part}" (expected ${Object.keys(ROLE_BY_NAME).join(', ')})`);
    roles.push(role);
  }
  if (roles.length === 0) throw new OpenctlError('--roles: name at least one role');
  return [...new Set(roles)];
}

function intOption(value: string | undefined, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new OpenctlError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

function readCertificatesNamed(bytes: Buffer, file: string): Buffer[] {
  try {
    return readCertificates(bytes);
  } catch (err) {
    throw new OpenctlError(`${file}: ${(err as Error).message}`);
  }
}

/** The TVS TLS identity: a PEM file with the private key and the certificate (TLS runs in Node's OpenSSL). */
async function readTlsSigner(spec: string, file: string) {
  if (isPkcs11Uri(spec)) {
    throw new OpenctlError(`--signer ${spec}: tvs serve needs the TVS key as a PEM file (the TLS handshake runs in Node's OpenSSL, which cannot use a token key)`);
  }
  const text = (await readInput(file, 'signer PEM')).toString('utf8');
  const { key, certificate } = parsePemBundle(text, spec);
  if (!new X509Certificate(certificate).checkPrivateKey(key)) throw new OpenctlError(`${spec}: the private key does not belong to the certificate`);
  return { key, certificate };
}
