import * as path from 'node:path';
import type { CliContext } from '../context';
import { log } from '../io';
import { openSigner } from '../signer-spec';
import { signerSpecOptions } from '../signer-options';
import { readCertificates } from '../../crypto/certificate';
import { parsePemBundle } from '../../crypto/pem-signer';
import { isPkcs11Uri } from '../../pkcs11/uri';
import { openServiceStore } from '../../store';
import { CapfStore } from '../../store/capf';
import { CAPF_MIGRATIONS } from '../../store/capf-migrations';
import { OpenctlError } from '../../util/errors';
import { jsonLogger } from '../../services/common/log';
import { parseListen } from '../../services/common/listen';
import { startMetricsServer, type MetricsServer } from '../../services/common/metrics';
import { runServe } from '../../services/common/serve';
import { parseTlsMin } from '../../services/common/tls-server';
import { AuditLog } from '../../services/capf/audit';
import { CertificateAuthenticator } from '../../services/capf/cert-auth';
import { pemIssuer, TokenIssuer, type IssuingKey } from '../../services/capf/issuer';
import { CapfMetrics, startCapfServer } from '../../services/capf/server';
import { checkFolder, parseCount, parseSeconds, type ServeCliOptions } from './capf';
import { readInput } from '../inputs';

/** `capf serve`: everything is checked and opened before the port opens; then it runs until SIGTERM. */
export async function serveCapf(opts: ServeCliOptions, ctx: CliContext, debug: boolean): Promise<void> {
  const io = ctx.io;
  const resolve = (p: string) => path.resolve(io.cwd, p);
  const listen = opts.listen.map((l) => parseListen(l));
  const metricsAt = opts.metrics ? parseListen(opts.metrics, '--metrics') : undefined;
  const tlsMin = parseTlsMin(opts.tlsMin);
  const days = parseCount(opts.days, '--days', 1, 36500);
  const maxSessions = parseCount(opts.maxSessions, '--max-sessions', 1, 100_000);
  const maxFailures = parseCount(opts.maxFailures, '--max-failures', 1, 1000);
  const timeoutMs = parseSeconds(opts.timeout, '--timeout') * 1000;
  const keyGenTimeoutMs = parseSeconds(opts.keygenTimeout, '--keygen-timeout') * 1000;
  const outDir = resolve(opts.out);
  await checkFolder(outDir, '--out');

  const tls = parsePemBundle((await readInput(resolve(opts.signer), 'CAPF signer PEM')).toString('utf8'), opts.signer);
  const certs = async (files: string[], what: string) =>
    (await Promise.all(files.map(async (f) => {
      try {
        return readCertificates(await readInput(resolve(f), what));
      } catch (err) {
        throw err instanceof OpenctlError && err.message.startsWith(resolve(f)) ? err : new OpenctlError(`${f}: ${(err as Error).message}`);
      }
    }))).flat();
  const micCas = await certs(opts.micCa, 'MIC CA certificate');
  const chain = await certs(opts.chain, 'chain certificate');
  const issuerCert = opts.issuerCert ? (await certs([opts.issuerCert], 'issuing certificate'))[0] : undefined;

  // The first opening may ask for the PIN; opening again after a removal cannot ask anyone: the PIN then
  // comes from the URI's pin-source or OPENCTL_PIN*, as for any unattended token command.
  const issuer: IssuingKey = isPkcs11Uri(opts.issuer)
    ? await TokenIssuer.create(
        () => openSigner(opts.issuer, signerSpecOptions(ctx, opts, debug)),
        () => openSigner(opts.issuer, { ...signerSpecOptions(ctx, { wait: false }, debug), interactive: false }),
        issuerCert,
      )
    : await pemIssuer(resolve(opts.issuer), issuerCert);
  const cleanups: Array<() => Promise<void>> = [() => issuer.close()];
  try {
    const db = await openServiceStore(opts.db, [CAPF_MIGRATIONS], { cwd: io.cwd });
    const store = new CapfStore(db);
    cleanups.push(() => store.close());
    const audit = await AuditLog.open(opts.audit ? resolve(opts.audit) : path.join(outDir, 'capf-audit.jsonl'));
    cleanups.push(() => audit.close());
    const logger = jsonLogger(io.stderr, { service: 'capf' });
    const metrics = new CapfMetrics();
    const server = await startCapfServer({
      listen,
      key: tls.key,
      certificates: [tls.certificate],
      tlsMin,
      store,
      issuer,
      authenticator: new CertificateAuthenticator(micCas, [issuer.certificate, ...chain]),
      outDir,
      days,
      maxFailures,
      maxSessions,
      handshakeTimeoutMs: timeoutMs,
      messageTimeoutMs: timeoutMs,
      keyGenTimeoutMs,
      log: logger,
      audit,
      metrics,
    });
    let metricsServer: MetricsServer | undefined;
    if (metricsAt) {
      metricsServer = await startMetricsServer(metricsAt, metrics, async () => {
        const detail: Record<string, unknown> = { sessions: server.active() };
        let ok = true;
        try {
          await db.ping();
          detail.store = 'ok';
        } catch (err) {
          ok = false;
          detail.store = (err as Error).message;
        }
        detail.issuer = server.issuerHealthy() ? 'ok' : 'failing (see the log)';
        if (!server.issuerHealthy()) ok = false;
        return { ok, detail };
      });
    }
    ctx.stopsOnSignal();
    await runServe({
      stdout: io.stdout,
      signal: ctx.signal,
      service: server.service,
      metricsServer,
      log: logger,
      graceMs: timeoutMs,
      close: async () => undefined,
    });
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => log(io, `openctl: ${err.message}`));
  }
}
