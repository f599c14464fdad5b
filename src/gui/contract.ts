/**
 * THE contract between the GUI's renderer and its main-side service, declared once. Everything else is generated
 * from this table by a loop: the Electron main process's ipcMain handlers and the preload's contextBridge API
 * (src/gui/ipc.ts), the web server's HTTP routes (src/gui/web-server.ts) and the renderer's client
 * (src/gui/client.ts). Each method has a request validator (requests are untrusted) and a response type.
 *
 * This module is bundled into the renderer: it imports types only, never Node or Electron.
 */
import { s, type Schema, type Infer } from './schema';
import { MOVE_CLUSTER_METHODS, REGENERATE_KINDS } from '../plan/fields';
import type {
  AppInfo,
  BatchState,
  ClusterView,
  CertView,
  CtlPreview,
  CurrentCtlView,
  DemoState,
  DiffView,
  FileChoice,
  FileReport,
  GuiEvents,
  LoginResult,
  PlanView,
  SignResult,
  ItlCheckView,
  SignFilesView,
  PreflightView,
  FetchView,
  CtlMergeView,
  TvsListView,
  TvsChangeView,
  CapfDeviceView,
  ServiceStatusView,
  TokensSnapshot,
} from './types';

export interface MethodSpec<Req, Res> {
  readonly request: Schema<Req>;
  /** Phantom: carries the response type only. */
  readonly response?: Res;
}

function method<Req>(request: Schema<Req>) {
  return { returns: <Res>(): MethodSpec<Req, Res> => ({ request }) };
}

const none = s.object({});

/** A file the service reads: a path on the service's machine, or the bytes of an upload / dropped file. */
export const fileSource = s.union(
  s.object({ path: s.string({ min: 1 }) }),
  s.object({ name: s.string({ min: 1, max: 255 }), base64: s.string({ max: 48 * 1024 * 1024 }) }),
);
export type FileSource = Infer<typeof fileSource>;

const hash = s.literal('sha1', 'sha256', 'sha512');
const role = s.integer({ min: 0, max: 65535 });
const base64Der = s.string({ min: 1, max: 64 * 1024 });
const tokenId = s.string({ min: 1, max: 512 });

/** A record the CTL builder will write: a new one from a certificate, or one kept from the current CTL. */
export const draftRecord = s.union(
  s.object({
    from: s.literal('certificate'),
    role,
    certificate: base64Der,
    dnsName: s.optional(s.string({ max: 255 })),
    ipv4: s.optional(s.string({ max: 15 })),
    source: s.string({ max: 512 }),
  }),
  s.object({ from: s.literal('current'), index: s.integer({ min: 0, max: 10_000 }) }),
);
export type DraftRecord = Infer<typeof draftRecord>;

export const ctlDraft = s.object({
  records: s.array(draftRecord, { max: 1000 }),
  /** The CTL being updated: its records can be kept, and the signer must be one of its SAST records. */
  current: s.optional(fileSource),
  hash: s.optional(hash),
  signerVersion: s.optional(s.literal('1.0', '1.1')),
  dnStyle: s.optional(s.literal('comma', 'cucm')),
  /** The token that will sign: checked against the current CTL's SAST records. */
  signerTokenId: s.optional(tokenId),
});
export type CtlDraft = Infer<typeof ctlDraft>;

const clusterCert = s.object({
  role,
  /** Path or pkcs11: URI of an existing certificate source. */
  source: s.optional(s.string({ max: 4096 })),
  /** DER (base64) of a certificate added from an upload or a TLS fetch: written beside the cluster file. */
  der: s.optional(base64Der),
});

export const clusterDraft = s.object({
  name: s.optional(s.string({ max: 255 })),
  digest: s.optional(hash),
  signerVersion: s.optional(s.literal('1.0', '1.1')),
  dnStyle: s.optional(s.literal('comma', 'cucm')),
  sast: s.array(clusterCert, { max: 100 }),
  servers: s.array(
    s.object({
      name: s.string({ min: 1, max: 255 }),
      dns: s.optional(s.string({ max: 255 })),
      ip: s.optional(s.string({ max: 45 })),
      certificates: s.array(clusterCert, { max: 100 }),
      itlSigner: s.optional(s.string({ max: 4096 })),
    }),
    { max: 500 },
  ),
});
export type ClusterDraft = Infer<typeof clusterDraft>;

export const batchSigner = s.union(
  s.object({ tokenId }),
  s.object({ pem: s.string({ min: 1 }) }),
);

/** A key a plan signs with: a logged-in token, or a PEM file (a new certificate without its key: a certificate file). */
const planKey = s.union(s.object({ tokenId }), s.object({ pem: s.string({ min: 1, max: 4096 }) }));
const planPath = s.string({ min: 1, max: 4096 });
const planCommon = {
  configs: s.optional(s.array(planPath, { max: 100 })),
  digest: s.optional(hash),
  sbd: s.optional(s.boolean()),
  timestamp: s.optional(s.integer({ min: 0, max: 0xffffffff })),
};
const planCurrent = {
  ...planCommon,
  itl: s.optional(planPath),
  ctl: s.optional(planPath),
  itlSigner: s.optional(planKey),
  ctlSigner: s.optional(planKey),
  configSigner: s.optional(planKey),
};

/** One procedure's named inputs, the same as the `openctl plan` options (src/plan/fields.ts). */
export const planRequest = s.union(
  s.object({
    procedure: s.literal('regenerate'),
    ...planCurrent,
    certs: s.array(s.literal(...REGENERATE_KINDS), { max: REGENERATE_KINDS.length }),
    newCerts: s.object({
      capf: s.optional(planKey),
      tvs: s.optional(planKey),
      itlrecovery: s.optional(planKey),
      callmanager: s.optional(planKey),
      tftp: s.optional(planKey),
    }),
    order: s.optional(s.string({ max: 200 })),
  }),
  s.object({
    procedure: s.literal('move-cluster'),
    ...planCommon,
    method: s.literal(...MOVE_CLUSTER_METHODS),
    fromItl: s.optional(planPath),
    fromCtl: s.optional(planPath),
    fromItlSigner: s.optional(planKey),
    toItl: s.optional(planPath),
    toCtl: s.optional(planPath),
    toCtlSigner: s.optional(planKey),
    toConfigSigner: s.optional(planKey),
  }),
  s.object({
    procedure: s.literal('reimage'),
    ...planCurrent,
    newTftp: s.optional(planKey),
    newItlSigner: s.optional(planKey),
    newTvs: s.optional(planKey),
    newCapf: s.optional(planKey),
    withoutRollback: s.optional(s.boolean()),
  }),
  s.object({
    procedure: s.literal('rollback'),
    ...planCurrent,
    nextItlSigner: s.optional(planKey),
    nextConfigSigner: s.optional(planKey),
  }),
);
export type PlanKey = Infer<typeof planKey>;

const pathList = (max: number) => s.array(planPath, { max });
export type GuiPlanRequest = Infer<typeof planRequest>;

export const methods = {
  appInfo: method(none).returns<AppInfo>(),
  /** Native dialogs (Electron only); web mode answers with an error and the renderer shows path fields. */
  chooseFile: method(
    s.object({
      kind: s.literal('open', 'save', 'folder'),
      title: s.string({ max: 200 }),
      defaultPath: s.optional(s.string()),
    }),
  ).returns<FileChoice>(),

  listTokens: method(none).returns<TokensSnapshot>(),
  /** The PIN goes from the dialog straight here; the renderer does not keep it. Omit it for PIN-pad login. */
  login: method(
    s.object({ tokenId, pin: s.optional(s.string({ max: 256 })), confirmFinalTry: s.optional(s.boolean()) }),
  ).returns<LoginResult>(),
  logout: method(s.object({ tokenId })).returns<TokensSnapshot>(),
  /** Create (first time) and use the SoftHSM demo tokens in the user's data folder. */
  useDemoTokens: method(none).returns<DemoState>(),

  readCertificates: method(s.object({ file: fileSource })).returns<CertView[]>(),
  fetchTlsCertificate: method(
    s.object({ host: s.string({ min: 1, max: 255 }), port: s.integer({ min: 1, max: 65535 }) }),
  ).returns<CertView[]>(),
  loadCluster: method(s.object({ path: s.string({ min: 1 }) })).returns<ClusterView>(),
  checkCluster: method(s.object({ cluster: clusterDraft })).returns<ClusterView>(),
  saveCluster: method(
    s.object({ path: s.string({ min: 1 }), cluster: clusterDraft, overwrite: s.optional(s.boolean()) }),
  ).returns<ClusterView>(),
  /** The CTL records of a loaded cluster, as CTL builder draft records. */
  clusterCtlRecords: method(s.object({ cluster: clusterDraft })).returns<DraftRecord[]>(),

  openCurrentCtl: method(s.object({ file: fileSource })).returns<CurrentCtlView>(),
  previewCtl: method(s.object({ draft: ctlDraft })).returns<CtlPreview>(),
  signCtl: method(
    s.object({ draft: ctlDraft, signerTokenId: tokenId, output: s.string({ min: 1 }), overwrite: s.optional(s.boolean()) }),
  ).returns<SignResult>(),

  inspect: method(
    s.object({ file: fileSource, trust: s.optional(fileSource), kind: s.optional(s.literal('ctl', 'itl')) }),
  ).returns<FileReport>(),
  /** `openctl diff`; the labels name the two files in the panel ("current", "new"). */
  diff: method(
    s.object({ old: fileSource, new: fileSource, oldLabel: s.optional(s.string({ max: 40 })), newLabel: s.optional(s.string({ max: 40 })) }),
  ).returns<DiffView>(),

  batchStart: method(
    s.object({
      source: s.string({ min: 1 }),
      output: s.string({ min: 1 }),
      signer: batchSigner,
      digest: s.optional(hash),
      resume: s.optional(s.boolean()),
      /** Sign into an output folder that already holds files (the CLI's --force). */
      overwrite: s.optional(s.boolean()),
      /** The CLI's --include / --exclude globs, --encrypt-with folder, --trust lists and --incremental. */
      include: s.optional(s.array(s.string({ min: 1, max: 512 }), { max: 50 })),
      exclude: s.optional(s.array(s.string({ min: 1, max: 512 }), { max: 50 })),
      encryptWith: s.optional(planPath),
      trust: s.optional(pathList(10)),
      incremental: s.optional(s.boolean()),
    }),
  ).returns<BatchState>(),
  batchCancel: method(none).returns<BatchState>(),
  batchState: method(none).returns<BatchState>(),

  /** Merge a cluster's CTL records into the CTL in progress: the merged draft and what the merge did, counted. */
  mergeClusterIntoCtl: method(s.object({ cluster: clusterDraft, draft: ctlDraft })).returns<CtlMergeView>(),

  /** Build every TFTP server's ITL of a cluster file in memory, verify and preflight each (nothing written). */
  itlCheck: method(
    s.object({
      cluster: planPath,
      rollback: s.optional(s.boolean()),
      /** Per server: another key than the cluster's itlSigner, and the ITL its phones hold now. */
      servers: s.optional(s.array(s.object({ server: s.string({ min: 1, max: 255 }), signer: s.optional(planKey), heldItl: s.optional(planPath) }), { max: 500 })),
    }),
  ).returns<ItlCheckView>(),
  /** Write the ITLs checked last (exactly those bytes) to OUT/<server>/ITLFile.tlv. */
  itlSave: method(s.object({ checkId: s.string({ min: 1, max: 64 }), output: planPath, overwrite: s.optional(s.boolean()) })).returns<ItlCheckView>(),

  /** `openctl sign` / `openctl encrypt` for a few files, each output verified. */
  signFiles: method(
    s.object({
      files: s.array(fileSource, { min: 1, max: 20 }),
      signer: planKey,
      digest: s.optional(hash),
      outDir: planPath,
      overwrite: s.optional(s.boolean()),
      /** Encrypt to this phone certificate (FILE.enc.sgn + stub FILE.sgn). */
      deviceCert: s.optional(fileSource),
      /** Verify the outputs against the TFTP records of this CTL or ITL (as phones holding it would). */
      trust: s.optional(fileSource),
    }),
  ).returns<SignFilesView>(),

  /** `openctl preflight --json`. */
  preflight: method(
    s.object({
      deploy: pathList(100),
      phoneHas: s.optional(pathList(2)),
      tvsKnows: s.optional(pathList(100)),
      tvsCert: s.optional(pathList(10)),
      sbd: s.optional(s.boolean()),
      fleet: s.optional(planPath),
      timeoutMs: s.optional(s.integer({ min: 1, max: 600_000 })),
    }),
  ).returns<PreflightView>(),

  /** `openctl fetch HOST --json`. */
  fetch: method(
    s.object({
      host: s.string({ min: 1, max: 255 }),
      macs: s.optional(s.array(s.string({ min: 1, max: 32 }), { max: 20 })),
      outDir: planPath,
      overwrite: s.optional(s.boolean()),
      tftpPort: s.optional(s.integer({ min: 1, max: 65535 })),
      httpPort: s.optional(s.integer({ min: 1, max: 65535 })),
      via: s.optional(s.array(s.literal('tftp', 'http'), { min: 1, max: 2 })),
      timeoutMs: s.optional(s.integer({ min: 1, max: 600_000 })),
    }),
  ).returns<FetchView>(),

  /** The TVS store (a SQLite file or a postgres:// URL), as `openctl tvs list|add|remove --db`. */
  tvsList: method(s.object({ db: planPath })).returns<TvsListView>(),
  tvsAdd: method(
    s.object({
      db: planPath,
      files: s.optional(s.array(fileSource, { max: 50 })),
      /** Certificates already shown to the person (a TLS fetch, confirmed by its fingerprint), DER base64. */
      certificates: s.optional(s.array(base64Der, { max: 10 })),
      roles: s.optional(s.array(s.integer({ min: 0, max: 255 }), { max: 10 })),
      fromLists: s.optional(s.array(fileSource, { max: 10 })),
      ttl: s.optional(s.integer({ min: 1, max: 30 * 24 * 3600 })),
    }),
  ).returns<TvsChangeView>(),
  tvsRemove: method(s.object({ db: planPath, sha256: s.array(s.string({ min: 64, max: 64, pattern: /^[0-9a-f]{64}$/ }), { min: 1, max: 1000 }) })).returns<TvsChangeView>(),

  /** CAPF devices, as `openctl capf device list|add|set|remove --db`. */
  capfList: method(s.object({ db: planPath })).returns<CapfDeviceView[]>(),
  capfAdd: method(
    s.object({
      db: planPath,
      devices: s.array(s.string({ min: 1, max: 64 }), { min: 1, max: 1000 }),
      operation: s.literal('install', 'fetch', 'delete', 'none'),
      auth: s.literal('none', 'mic'),
      key: s.optional(s.string({ max: 16 })),
    }),
  ).returns<CapfDeviceView[]>(),
  capfSet: method(
    s.object({
      db: planPath,
      devices: s.array(s.string({ min: 1, max: 64 }), { min: 1, max: 1000 }),
      operation: s.optional(s.literal('install', 'fetch', 'delete', 'none')),
      auth: s.optional(s.literal('none', 'mic')),
      unlock: s.optional(s.boolean()),
    }),
  ).returns<CapfDeviceView[]>(),
  capfRemove: method(s.object({ db: planPath, devices: s.array(s.string({ min: 1, max: 64 }), { min: 1, max: 1000 }) })).returns<CapfDeviceView[]>(),
  /** A running TVS or CAPF server's /health and /metrics (its --metrics HOST:PORT). */
  serviceStatus: method(s.object({ service: s.literal('tvs', 'capf'), url: s.string({ min: 1, max: 300 }) })).returns<ServiceStatusView>(),

  /** Build and preflight every step of a procedure (nothing written); the service keeps the checked plan for planWrite. */
  planCheck: method(s.object({ request: planRequest })).returns<PlanView>(),
  /** Write the plan checked last (exactly those bytes) to a folder; refused plans are never written. */
  planWrite: method(
    s.object({ planId: s.string({ min: 1, max: 64 }), output: s.string({ min: 1, max: 4096 }), overwrite: s.optional(s.boolean()) }),
  ).returns<PlanView>(),
} as const;

export type Methods = typeof methods;
export type MethodName = keyof Methods;
export type RequestOf<M extends MethodName> = Methods[M] extends MethodSpec<infer Req, unknown> ? Req : never;
export type ResponseOf<M extends MethodName> = Methods[M] extends MethodSpec<unknown, infer Res> ? Res : never;

/** The API as the renderer calls it, and as the service implements it. */
export type GuiApi = { [M in MethodName]: (request: RequestOf<M>) => Promise<ResponseOf<M>> };

export const METHOD_NAMES = Object.keys(methods) as MethodName[];

export type EventName = keyof GuiEvents;
export const EVENT_NAMES: readonly EventName[] = ['tokens', 'batch'];
export type EventListener = <E extends EventName>(name: E, payload: GuiEvents[E]) => void;

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(methods, name);
}

/** What every transport carries back: a value, or one line for a person plus the CLI's exit-code class. */
export type Envelope<T> = { ok: true; value: T } | { ok: false; error: { message: string; code: number } };

/** Channel names of the Electron transport. */
export const IPC_PREFIX = 'openctl:';
export const IPC_EVENT_CHANNEL = 'openctl:event';
/** HTTP routes of the web transport. */
export const HTTP_API_PREFIX = '/api/';
export const HTTP_EVENTS_PATH = '/api/events';
export const SESSION_HEADER = 'x-openctl-session';
