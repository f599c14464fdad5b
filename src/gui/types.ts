/**
 * The shapes that cross the GUI boundary (main process or web server → renderer). Plain JSON: bytes travel as
 * base64 or hex strings, dates as ISO strings. Requests are declared with their validators in contract.ts; these
 * are the responses and event payloads.
 */

/** The Inspect screen's report is exactly what `openctl show --json` prints (src/inspect/report-types.ts). */
export type { ElementRow as ElementRowView, FileReport } from '../inspect/report-types';

/** The Rollout plan screen's view of a plan: `openctl plan --json`, plus what the screen needs around it. */
export type { PlanJson } from '../plan/plan-json';
import type { PlanJson } from '../plan/plan-json';
export interface PlanView extends PlanJson {
  /** Hand this to planWrite to write exactly the plan that was checked. */
  planId: string;
  /** What phones hold before step 1, in words. */
  phonesHoldNow: string;
  /** Steps after the first refused one, which were not checked. */
  notChecked: number;
  /** The folder the plan was written to, once written. */
  written?: string;
}

import type { TrustListDiff } from '../trust/diff-types';
export type { TrustListDiff };

export type GuiMode = 'electron' | 'web';

export interface DemoState {
  /** The SoftHSM module was found, so demo tokens can be made here. */
  available: boolean;
  /** Demo tokens exist in the user's data folder. */
  provisioned: boolean;
  /** This session lists the demo tokens. */
  active: boolean;
  dir?: string;
  /** Shell lines to use the same tokens from the command line (`export SOFTHSM2_CONF=...`, then openctl). */
  cli?: string[];
  /** Documented demo PINs (demo tokens only: never a real token's PIN). */
  tokens?: Array<{ label: string; pin: string }>;
  /** Why demo tokens are unavailable, when they are. */
  problem?: string;
}

export interface AppInfo {
  mode: GuiMode;
  version: string;
  /** Native open/save dialogs are available (Electron); web mode uses path fields and uploads instead. */
  dialogs: boolean;
  /** A sensible folder to suggest for outputs. */
  defaultDir: string;
  platform: string;
  demo: DemoState;
}

export type ExpiryState = 'expired' | 'soon' | 'ok';

export interface CertView {
  /** DER, base64. */
  der: string;
  subject: string;
  issuer: string;
  serialHex: string;
  keyAlgorithm: string;
  keyBits: number;
  notBefore: string;
  notAfter: string;
  sha1: string;
  expiry: ExpiryState;
  daysLeft: number;
}

export interface TokenFlags {
  loginRequired: boolean;
  pinPad: boolean;
  pinCountLow: boolean;
  pinFinalTry: boolean;
  pinLocked: boolean;
}

export interface KeyPairView {
  /** CKA_ID, hex. */
  id: string;
  label: string;
  hasKey: boolean;
  certificate?: CertView;
}

export interface TokenView {
  /** Stable within a session: identifies the token for login, SAST and signing requests. */
  id: string;
  slot: string;
  label: string;
  manufacturer: string;
  model: string;
  serial: string;
  module: string;
  flags: TokenFlags;
  loggedIn: boolean;
  keyPairs: KeyPairView[];
  /** The certificate this token would sign with (and that goes into a CTL as its SAST record). */
  sast?: CertView;
}

export interface TokensSnapshot {
  tokens: TokenView[];
  /** Readers/slots with no token in them. */
  emptySlots: number;
  modules: string[];
  /** A module or listing problem, one line. */
  problem?: string;
  /** Monotonic: a snapshot with a lower revision is stale. */
  revision: number;
}

export interface LoginResult {
  loggedIn: boolean;
  message: string;
  /** The token warns that the PIN count is low / that the next wrong PIN is the last one / that it is locked. */
  pinCountLow?: boolean;
  finalTry?: boolean;
  locked?: boolean;
  /** The next try is the last one: ask the person to confirm before sending another PIN. */
  needsConfirmation?: boolean;
}

export type CheckLevel = 'error' | 'warning' | 'ok';

export interface CheckView {
  level: CheckLevel;
  message: string;
}

/** A record as the CTL builder and cluster screens show it. */
export interface RecordView {
  index: number;
  role: number;
  roleName: string;
  roleDescription: string;
  dnsName?: string;
  ipv4?: string;
  subject?: string;
  issuer?: string;
  serialHex?: string;
  certificate?: CertView;
  /** Where the record comes from: "token eToken-A", "file ccm.pem", "current CTL"... */
  source: string;
  /** The CTL builder's draft record this comes from (undefined for the signer's SAST record added automatically). */
  draftIndex?: number;
}

export interface CtlPreview {
  records: RecordView[];
  checks: CheckView[];
  /** No check is an error. */
  canSign: boolean;
}

export interface SignResult {
  path: string;
  size: number;
  md5: string;
  sha1: string;
  /** The written file read back and verified against its own signer record. */
  verdict: { valid: boolean; reason: string };
  records: number;
}

export interface CurrentCtlView {
  file: string;
  kind: 'ctl' | 'itl';
  records: RecordView[];
  signer: { subject: string; serialHex: string };
}

export interface ClusterCertView {
  role: number;
  roleName: string;
  /** Absolute path, pkcs11: URI, or '' for a certificate not saved yet. */
  source: string;
  certificate?: CertView;
  problem?: string;
}

export interface ClusterServerView {
  name: string;
  dns?: string;
  ip?: string;
  certificates: ClusterCertView[];
  itlSigner?: string;
}

export interface ClusterView {
  file?: string;
  name?: string;
  digest?: 'sha1' | 'sha256' | 'sha512';
  signerVersion?: '1.0' | '1.1';
  dnStyle?: 'comma' | 'cucm';
  sast: ClusterCertView[];
  servers: ClusterServerView[];
  warnings: CheckView[];
}

export interface DiffView {
  /** Full labels of the two files, e.g. "current ITL (ITLFile.tlv)" and "new ITL (ITLFile-new.tlv)". */
  oldLabel: string;
  newLabel: string;
  /** The diff as `openctl diff --json` prints it (added, removed, changed, signer, digest, the verdict). */
  structured: TrustListDiff;
  /** One line per change, as `openctl diff` prints it. */
  lines: string[];
  /** Phones holding the old file accept the new one (when that could be decided). */
  accepted?: boolean;
  summary: string;
  /** The library's own JSON description of the diff, for display as details. */
  details?: unknown;
}

export type BatchStatus = 'idle' | 'running' | 'done' | 'cancelled' | 'failed';

export interface BatchState {
  jobId: string;
  status: BatchStatus;
  source: string;
  output: string;
  /** Files finished: signed, unchanged, failed, and those done before a resume. */
  done: number;
  failed: number;
  /** Of `done`, the files an interrupted run had already done. */
  skipped: number;
  /** Known once the walk has finished. */
  total?: number;
  filesPerSecond: number;
  etaSeconds?: number;
  errors: Array<{ file: string; message: string }>;
  message?: string;
  /** A journal from an interrupted run is present in the output folder: resume is possible. */
  resumable?: boolean;
  /** The job's own counts once it stopped (the pipeline's summary): signed now, unchanged, failed, done before a resume. */
  summary?: { signed: number; kept: number; failed: number; alreadyDone: number; total?: number };
  /** The options it ran with, as the CLI names them. */
  options?: string[];
}

export interface FileChoice {
  /** Undefined when the person cancelled the dialog. */
  path?: string;
}

/** Pushed from the main side to every open renderer. */
export interface GuiEvents {
  tokens: TokensSnapshot;
  batch: BatchState;
}

/** The trust model's verdict on one file, exactly as `openctl preflight --json` prints it (src/trust/verdict.ts). */
export type { FileVerdict, HoldingSummary } from '../trust/verdict';
import type { FileVerdict, HoldingSummary } from '../trust/verdict';

/** One TFTP server's ITL, built in memory by the ITL builder and checked before anything is written. */
export interface ItlServerView {
  server: string;
  /** The ITL signer: the cluster's itlSigner, or the key chosen on the screen. */
  signer: { source: string; description: string; subject?: string };
  /** What the built ITL holds, in order (empty when it could not be built). */
  records: RecordView[];
  bytes?: number;
  sha1?: string;
  /** The built ITL against its own signer record (as `openctl verify --json`). */
  selfCheck?: { valid: boolean; reason: string };
  /** Would phones holding `heldBy` accept it: the verdict `openctl preflight --json` gives for it. */
  verdict?: FileVerdict;
  /** The ITL the phones of this server hold now ("nothing" when none was given). */
  heldBy: string;
  /** Why this server's ITL could not be built (nothing is saved while one server has a problem). */
  problem?: string;
}

export interface ItlCheckView {
  checkId: string;
  rollback: boolean;
  cluster: string;
  servers: ItlServerView[];
  /** Every server's ITL built, verifies, and phones accept it. */
  ok: boolean;
  /** Once saved: the files written. */
  written?: string[];
}

/** One file of the Sign screen, after signing (or encrypting). */
export interface SignedFileView {
  source: string;
  /** FILE.sgn, or FILE.enc.sgn and its stub FILE.sgn. */
  outputs: Array<{ path: string; sha1: string; verdict: { valid: boolean; reason: string; via: string | null } }>;
}

export interface SignFilesView {
  signer: string;
  digest: string;
  /** The CTL or ITL the verdicts were decided against (else: the signer's own certificate). */
  checkedAgainst: string;
  files: SignedFileView[];
}

/** The Preflight screen's report: `openctl preflight --json`, unchanged. */
export interface PreflightView {
  ok: boolean;
  /** One phone (or identical group): what it holds before, each file's verdict, what it holds after. */
  before?: HoldingSummary;
  tvs?: { knows: number; serviceCertificates: number };
  files?: FileVerdict[];
  after?: HoldingSummary;
  /** A fleet folder: per group. */
  groups?: Array<{ name: string; phones?: number; ok: boolean; before: HoldingSummary; files: FileVerdict[]; after: HoldingSummary }>;
  groupsRejecting?: number;
  phonesRejecting?: number;
}

/** The Fetch screen's result: `openctl fetch --json`, unchanged. */
export interface FetchView {
  host: string;
  out: string;
  files: Array<{ name: string; via?: 'tftp' | 'http'; bytes?: number; sha1?: string; file?: string; notFound: boolean; attempts: Array<{ via: 'tftp' | 'http'; error: string }> }>;
  /** A transfer broke, or nothing could be downloaded (the CLI's exit code 1). */
  failed: boolean;
}

/** What merging a cluster into the CTL in progress did, counted as the records table counts. */
export interface CtlMergeView {
  records: import('./contract').DraftRecord[];
  added: number;
  /** Records the CTL already had (same function, same certificate): written once. */
  alreadyThere: number;
  /** Records the CTL will have after the merge (the records table's count, before the signer's own SAST is added). */
  total: number;
}

/** The TVS screen: what the store vouches for (`openctl tvs list --json`, with each certificate's expiry). */
export interface TvsListView {
  certificates: Array<{
    sha256: string;
    subject: string;
    issuer: string;
    serial: string;
    roles: string[];
    roleNumbers: number[];
    ttl: number;
    addedAt: string;
    updatedAt: string;
    certificate?: CertView;
  }>;
}

export interface TvsChangeView {
  added: number;
  updated: number;
  removed: number;
  /** Records left out, or hashes not in the store, one line each. */
  skipped: string[];
}

/** A CAPF device as `openctl capf device list --json` prints it. */
export interface CapfDeviceView {
  device: string;
  operation: 'install' | 'fetch' | 'delete' | 'none';
  auth: 'none' | 'password' | 'mic';
  key: string;
  passwordSet: boolean;
  failures: number;
  lscSerial: string | null;
  lscNotAfter: string | null;
  lastContact: string | null;
  lastResult: string | null;
}

/** A running TVS or CAPF server, from its --metrics endpoint. */
export interface ServiceStatusView {
  url: string;
  reachable: boolean;
  /** /health answered 200. */
  healthy: boolean;
  /** /health's JSON: status, store, and the service's own facts. */
  health: Record<string, unknown>;
  /** The service's counters and gauges (openctl_tvs_… / openctl_capf_…). */
  samples: Array<{ name: string; value: number }>;
  problem?: string;
}
