import { randomBytes, type KeyObject } from 'node:crypto';
import { Counter } from 'prom-client';
import type { CapfStore } from '../../store/capf';
import { DirectoryWriter } from '../../util/directory-writer';
import { startTlsService, type RunningService, type ServiceConnection, type TlsMinVersion } from '../common/tls-server';
import type { ListenAddress } from '../common/listen';
import type { JsonLogger } from '../common/log';
import { ServiceMetrics } from '../common/metrics';
import type { AuditLog } from './audit';
import type { CertificateAuthenticator } from './cert-auth';
import { MessageChannel } from './channel';
import type { IssuingKey } from './issuer';
import { CapfCommand, encodeMessage, simpleMessage } from './messages';
import { runServerSession, type SessionOutcome, type SessionSettings } from './session';

/**
 * `capf serve`: the shared TLS listener (handshake timeout, connection cap, drain) with one CAPF session per
 * connection. Sessions beyond `maxSessions` get "retry later" (command 16) and are closed: phones come back,
 * and the sessions in flight keep their pace.
 */

export const CAPF_PORT = 3804;

export interface CapfServerOptions {
  listen: readonly ListenAddress[];
  key: KeyObject;
  certificates: readonly Buffer[];
  tlsMin?: TlsMinVersion;
  store: CapfStore;
  issuer: IssuingKey;
  authenticator: CertificateAuthenticator;
  outDir: string;
  days: number;
  maxFailures: number;
  maxSessions: number;
  /** Hard cap on sockets (handshakes included), above which connections are dropped without a word. */
  maxConnections?: number;
  handshakeTimeoutMs?: number;
  messageTimeoutMs: number;
  keyGenTimeoutMs: number;
  log: JsonLogger;
  audit?: AuditLog;
  metrics?: CapfMetrics;
}

export class CapfMetrics extends ServiceMetrics {
  readonly issued: Counter;
  readonly issuerFailures: Counter;

  constructor() {
    super('openctl_capf');
    this.issued = new Counter({ name: 'openctl_capf_lsc_issued_total', help: 'LSCs signed (installed or not)', registers: [this.registry] });
    this.issuerFailures = new Counter({ name: 'openctl_capf_issuer_failures_total', help: 'Enrolments failed by the issuing key (token removed...)', registers: [this.registry] });
  }
}

export interface CapfServer {
  service: RunningService;
  /** Sessions running now. */
  active(): number;
  /** False while the issuing key is failing (health). */
  issuerHealthy(): boolean;
}

export async function startCapfServer(options: CapfServerOptions): Promise<CapfServer> {
  const { log, metrics } = options;
  let active = 0;
  let issuerOk = true;
  const settings: SessionSettings = {
    store: options.store,
    issuer: countingIssuer(options.issuer, metrics, (ok) => (issuerOk = ok)),
    authenticator: options.authenticator,
    lscFiles: new DirectoryWriter(options.outDir),
    days: options.days,
    maxFailures: options.maxFailures,
    messageTimeoutMs: options.messageTimeoutMs,
    keyGenTimeoutMs: options.keyGenTimeoutMs,
    warn: (line) => log.log('warning', { message: line }),
  };

  async function handle(connection: ServiceConnection): Promise<void> {
    const session = randomBytes(4).readUInt32BE(0);
    if (active >= options.maxSessions) {
      await connection.write(encodeRetryLater(session));
      metrics?.connections.inc({ result: 'busy' });
      log.log('busy', { peer: connection.peer, active, limit: options.maxSessions });
      await options.audit?.append({ session, peer: connection.peer, result: 'busy' });
      return;
    }
    active += 1;
    const started = performance.now();
    const settle = async (outcome: SessionOutcome) => {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      metrics?.requests.inc({ verdict: outcome.result });
      metrics?.duration.observe({ verdict: outcome.result }, ms / 1000);
      metrics?.connections.inc({ result: outcome.result === 'refused' || outcome.result === 'pending' ? 'protocol_error' : 'answered' });
      const line = { peer: connection.peer, ...outcome, ms };
      log.log('session', line);
      await options.audit?.append(line).catch((err: Error) => log.log('warning', { message: `capf: cannot append to the audit log: ${err.message}` }));
    };
    try {
      await runServerSession(new MessageChannel(connection.socket), session, settings, settle);
    } finally {
      active -= 1;
    }
  }

  const service = await startTlsService({
    name: 'capf',
    listen: options.listen,
    defaultPort: CAPF_PORT,
    key: options.key,
    certificates: options.certificates,
    tlsMin: options.tlsMin,
    handshakeTimeoutMs: options.handshakeTimeoutMs,
    // A session waits for a phone generating a key: allow for it on top of the message round trips.
    sessionTimeoutMs: options.keyGenTimeoutMs + 4 * options.messageTimeoutMs,
    maxConnections: options.maxConnections ?? Math.max(options.maxSessions * 4, 256),
    log,
    metrics,
    handle,
  });
  return { service, active: () => active, issuerHealthy: () => issuerOk };
}

function encodeRetryLater(session: number): Buffer {
  return encodeMessage(simpleMessage(CapfCommand.RetryLater, session));
}

/** The issuing key, with its failures counted and its health remembered. */
function countingIssuer(issuer: IssuingKey, metrics: CapfMetrics | undefined, healthy: (ok: boolean) => void): IssuingKey {
  return {
    get certificate() {
      return issuer.certificate;
    },
    description: issuer.description,
    algorithm: issuer.algorithm,
    async sign(tbs) {
      try {
        const signature = await issuer.sign(tbs);
        healthy(true);
        metrics?.issued.inc();
        return signature;
      } catch (err) {
        healthy(false);
        metrics?.issuerFailures.inc();
        throw err;
      }
    },
    close: () => issuer.close(),
  };
}
