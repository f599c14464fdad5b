import { X509Certificate } from 'node:crypto';
import { rm } from 'node:fs/promises';
import * as path from 'node:path';
import type { DirectoryWriter } from '../../util/directory-writer';
import { TokenError } from '../../util/errors';
import type { CapfDevice, CapfStore } from '../../store/capf';
import { StoreError } from '../../store/errors';
import type { CertificateAuthenticator } from './cert-auth';
import { ChannelError, type MessageChannel } from './channel';
import { normalizeDeviceName } from './device-name';
import type { IssuingKey } from './issuer';
import { parseKeySpec } from './key-spec';
import { buildLsc } from './lsc';
import { checkPassword } from './password';
import { keyMismatch, PhoneKeyError, readPhoneKey, type PhoneKey } from './phone-key';
import {
  authRequest,
  CapfCommand,
  CapfReason,
  CapfTag,
  commandName,
  endSession,
  parseAuthResponse,
  readCertificate,
  readU8,
  requireBytes,
  simpleMessage,
  keyGenRequest,
  storeCertRequest,
  type CapfMessage,
} from './messages';
import { toPem } from './pem';

/**
 * One CAPF session on the server, from the auth request to the end-session: who the phone is, whether it
 * proves it, and the one operation the administrator scheduled for it. The store changes only on what the
 * phone confirmed; every session ends with an outcome for the log, the audit trail and the metrics.
 */

export interface SessionSettings {
  store: CapfStore;
  issuer: IssuingKey;
  authenticator: CertificateAuthenticator;
  /** Where `SEP<MAC>.pem` goes (atomically, the folder's fsync shared by the sessions writing at once). */
  lscFiles: DirectoryWriter;
  days: number;
  /** Failed authentications before a device is locked. */
  maxFailures: number;
  /** Wait for each phone message (ms). */
  messageTimeoutMs: number;
  /** Wait for the generated key, "request in progress" messages included (ms). */
  keyGenTimeoutMs: number;
  /** Problems the operator must see that are not the phone's (token removed, unwritable folder). */
  warn(line: string): void;
}

export type SessionResult =
  | 'installed'
  | 'fetched'
  | 'deleted'
  | 'nothing-to-do'
  | 'unknown-device'
  | 'auth-failed'
  | 'locked'
  | 'refused'
  | 'pending'
  | 'server-error';

export interface SessionOutcome {
  session: number;
  device?: string;
  auth?: string;
  operation?: string;
  result: SessionResult;
  /** Why, in a few words (never a password). */
  detail?: string;
  serial?: string;
  /** The reason sent in end-session, when one was sent. */
  reason?: number;
}

class Ended extends Error {
  constructor(readonly outcome: SessionOutcome) {
    super(outcome.detail ?? outcome.result);
  }
}

/**
 * Run one session. `settle` records the outcome (contact, audit, log, metrics) before the phone hears the
 * end-session, so that anything a phone has been told is already on record; for a session that breaks off
 * it runs once the break is seen.
 */
export async function runServerSession(
  channel: MessageChannel,
  session: number,
  settings: SessionSettings,
  settle: (outcome: SessionOutcome) => Promise<void> = async () => undefined,
): Promise<SessionOutcome> {
  const run = new Run(channel, session, settings, settle);
  try {
    await converse(run);
    throw new Error('a CAPF session ended without an outcome'); // converse always ends through run.end
  } catch (err) {
    if (err instanceof Ended) return err.outcome;
    const outcome = await failure(err, run);
    await run.settle(outcome);
    return outcome;
  }
}

/** One session's state: the channel, who the phone turned out to be, and how to end. */
class Run {
  device?: CapfDevice;

  constructor(
    readonly channel: MessageChannel,
    readonly session: number,
    readonly s: SessionSettings,
    private readonly onSettle: (outcome: SessionOutcome) => Promise<void>,
  ) {}

  async settle(outcome: SessionOutcome): Promise<void> {
    // A completed operation recorded the contact with its confirmation (one write fewer per enrolment).
    const recorded = outcome.result === 'installed' || outcome.result === 'fetched' || outcome.result === 'deleted';
    if (this.device && !recorded) {
      await this.s.store.recordContact(this.device.name, outcome.result).catch((err: unknown) => this.s.warn(`capf: cannot record the contact of ${this.device!.name}: ${(err as Error).message}`));
    }
    await this.onSettle(outcome);
  }

  /** Record the outcome, then tell the phone: end-session with `reason`. */
  async end(reason: number, outcome: Omit<SessionOutcome, 'session' | 'reason'>): Promise<never> {
    const full: SessionOutcome = { session: this.session, ...outcome, reason };
    await this.settle(full);
    await this.channel.send(endSession(this.session, reason)).catch(() => undefined);
    throw new Ended(full);
  }
}

/** A failure that is not the phone's decision: a dropped connection, garbage, the token, the store. */
async function failure(err: unknown, run: Run): Promise<SessionOutcome> {
  const device = run.device;
  const base = { session: run.session, device: device?.name, auth: device?.auth, operation: device?.operation };
  if (err instanceof ChannelError) {
    // Nothing was confirmed: whatever was scheduled stays pending.
    if (err.kind === 'garbage' || err.kind === 'too-large') await run.channel.send(endSession(run.session, CapfReason.Invalid)).catch(() => undefined);
    return { ...base, result: device && device.operation !== 'none' ? 'pending' : 'refused', detail: err.message };
  }
  if (err instanceof TokenError || err instanceof StoreError) {
    run.s.warn(`capf: ${device ? `${device.name}: ` : ''}${err instanceof TokenError ? 'the issuing key failed' : 'the store failed'}: ${err.message}`);
    // Not the phone's fault: ask it to come back later rather than telling it it failed.
    await run.channel.send(simpleMessage(CapfCommand.RetryLater, run.session)).catch(() => undefined);
    return { ...base, result: 'server-error', detail: err.message };
  }
  throw err;
}

async function expect(channel: MessageChannel, session: number, timeoutMs: number, command: number, skipInProgress = false): Promise<CapfMessage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const message = await channel.read(Math.max(1, deadline - Date.now()), commandName(command));
    if (message.session !== session) throw new ChannelError(`${commandName(message.command)} for session ${message.session}, this is session ${session}`, 'garbage');
    if (skipInProgress && message.command === CapfCommand.InProgress) continue;
    if (message.command !== command) throw new ChannelError(`expected ${commandName(command)}, got ${commandName(message.command)}`, 'garbage');
    return message;
  }
}

async function converse(run: Run): Promise<never> {
  const { channel, session, s } = run;
  await channel.send(authRequest(session));
  const auth = parseAuthResponse(await expect(channel, session, s.messageTimeoutMs, CapfCommand.AuthResponse));
  const name = normalizeDeviceName(auth.device);
  if (!name) return run.end(CapfReason.UnknownDevice, { result: 'unknown-device', detail: `device name ${JSON.stringify(auth.device.slice(0, 40))} is not SEP<MAC>` });
  const device = await s.store.device(name);
  if (!device) return run.end(CapfReason.UnknownDevice, { device: name, result: 'unknown-device', detail: 'not in the store' });
  run.device = device;
  const who = { device: name, auth: device.auth, operation: device.operation };

  if (device.auth !== 'none' && device.failures >= s.maxFailures) {
    return run.end(CapfReason.Invalid, { ...who, result: 'locked', detail: `locked after ${device.failures} failed authentications (capf device set --unlock)` });
  }
  const authProblem = await authenticate(device, auth, s);
  if (authProblem) {
    const failures = await s.store.recordFailure(name);
    const locked = failures >= s.maxFailures ? `; now locked after ${failures} failures` : '';
    return run.end(CapfReason.Invalid, { ...who, result: 'auth-failed', detail: `${authProblem}${locked}` });
  }
  if (device.failures > 0) await s.store.clearFailures(name);

  switch (device.operation) {
    case 'none':
      return run.end(CapfReason.Nothing, { ...who, result: 'nothing-to-do' });
    case 'install':
      return install(run, device);
    case 'fetch':
      return fetch(run, device);
    case 'delete':
      return remove(run, device);
  }
}

/** Why the phone failed to prove it is `device`, or undefined when it did. */
async function authenticate(device: CapfDevice, auth: ReturnType<typeof parseAuthResponse>, s: SessionSettings): Promise<string | undefined> {
  if (device.auth === 'none') return undefined;
  if (device.auth === 'password') {
    return (await checkPassword(auth.password ?? '', device.passwordHash)) ? undefined : 'wrong password';
  }
  if (!auth.certificate) return 'no certificate (MIC or LSC) in the auth response';
  const result = s.authenticator.check({
    device: device.name,
    certificate: Buffer.from(auth.certificate),
    sha1Signature: auth.sha1Signature ? Buffer.from(auth.sha1Signature) : undefined,
    sha512Signature: auth.sha512Signature ? Buffer.from(auth.sha512Signature) : undefined,
  });
  return result.ok ? undefined : result.reason;
}

async function install(run: Run, device: CapfDevice): Promise<never> {
  const { channel, session, s } = run;
  const who = { device: device.name, auth: device.auth, operation: device.operation };
  const wanted = parseKeySpec(device.keySpec);
  await channel.send(keyGenRequest(session, wanted));
  const response = await expect(channel, session, s.keyGenTimeoutMs, CapfCommand.KeyGenResponse, true);
  let key: PhoneKey;
  try {
    key = readPhoneKey(requireBytes(response, CapfTag.PublicKey));
  } catch (err) {
    if (!(err instanceof PhoneKeyError)) throw err;
    return run.end(CapfReason.Invalid, { ...who, result: 'refused', detail: err.message });
  }
  const mismatch = keyMismatch(key, wanted);
  if (mismatch) return run.end(CapfReason.Invalid, { ...who, result: 'refused', detail: mismatch });

  const lsc = await buildLsc(s.issuer, { device: device.name, publicKey: key.der, days: s.days });
  const historyId = await s.store.recordIssued(device.name, lsc);
  await channel.send(storeCertRequest(session, lsc.der));
  const stored = await expect(channel, session, s.messageTimeoutMs, CapfCommand.StoreCertResponse);
  if (readU8(stored, CapfTag.Reason) !== CapfReason.Done) {
    return run.end(CapfReason.Invalid, { ...who, result: 'pending', serial: lsc.serial, detail: `the phone did not store the LSC (reason ${readU8(stored, CapfTag.Reason) ?? 'missing'})` });
  }
  // The phone has it: that is the truth the store records, even if the copy on disk cannot be written.
  await s.store.confirmInstall(device.name, historyId);
  await writeLsc(s, device.name, lsc.der);
  return run.end(CapfReason.Done, { ...who, result: 'installed', serial: lsc.serial });
}

async function fetch(run: Run, device: CapfDevice): Promise<never> {
  const { channel, session, s } = run;
  const who = { device: device.name, auth: device.auth, operation: device.operation };
  await channel.send(simpleMessage(CapfCommand.FetchCertRequest, session));
  const response = await expect(channel, session, s.messageTimeoutMs, CapfCommand.FetchCertResponse);
  const der = readU8(response, CapfTag.Reason) === CapfReason.Done ? readCertificate(response) : undefined;
  if (!der) return run.end(CapfReason.Nothing, { ...who, result: 'pending', detail: 'the phone has no LSC to send' });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    return run.end(CapfReason.Invalid, { ...who, result: 'refused', detail: 'the fetched LSC is not a certificate' });
  }
  const cn = /^CN=(.*)$/m.exec(cert.subject)?.[1];
  if (normalizeDeviceName(cn?.replace(/^CP-[0-9A-Za-z]+-/, '') ?? '') !== device.name) {
    return run.end(CapfReason.Invalid, { ...who, result: 'refused', detail: `the fetched certificate names ${JSON.stringify(cn ?? '')}, not ${device.name}` });
  }
  const serial = cert.serialNumber.toLowerCase();
  await s.store.confirmFetch(device.name, { serial, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), der: Buffer.from(der) });
  await writeLsc(s, device.name, Buffer.from(der));
  return run.end(CapfReason.Nothing, { ...who, result: 'fetched', serial });
}

async function remove(run: Run, device: CapfDevice): Promise<never> {
  const { channel, session, s } = run;
  const who = { device: device.name, auth: device.auth, operation: device.operation };
  await channel.send(simpleMessage(CapfCommand.DeleteCertRequest, session));
  const response = await expect(channel, session, s.messageTimeoutMs, CapfCommand.DeleteCertResponse);
  if (readU8(response, CapfTag.Reason) !== CapfReason.Done) {
    return run.end(CapfReason.Invalid, { ...who, result: 'pending', detail: 'the phone did not delete its LSC' });
  }
  await s.store.confirmDelete(device.name);
  await rm(path.join(s.lscFiles.dir, `${device.name}.pem`), { force: true }).catch((err: Error) => s.warn(`capf: ${device.name}: cannot remove its LSC file: ${err.message}`));
  return run.end(CapfReason.Done, { ...who, result: 'deleted', serial: device.lscSerial ?? undefined });
}

async function writeLsc(s: SessionSettings, device: string, der: Buffer): Promise<void> {
  try {
    await s.lscFiles.write(`${device}.pem`, Buffer.from(toPem('CERTIFICATE', der)));
  } catch (err) {
    s.warn(`capf: ${device}: the LSC is in the store but ${(err as Error).message}`);
  }
}
