/**
 * The main-side implementation of the GUI contract: a thin adapter from contract methods to the library (the same
 * calls the CLI makes). It runs in Electron's main process or behind the web server, never in a renderer, and
 * imports nothing from Electron: native dialogs come in through `DialogHost`.
 */
import * as os from 'node:os';
import type { ClusterDraft, CtlDraft, FileSource, GuiApi, RequestOf } from './contract';
import { EventHub } from './events';
import type { AppInfo, FileChoice, GuiMode } from './types';
import { OpenctlError } from '../util/errors';
import { fetchTlsCertificates, readCertificateViews } from './service/certs';
import { inspectFile } from './service/inspect';
import { diffFiles } from './service/diff';
import { checkCluster, clusterCtlRecords, loadCluster, saveCluster } from './service/cluster';
import { mergeIntoCtl, openCurrentCtl, previewCtl, signCtl } from './service/ctl';
import { TokenService } from './service/tokens';
import { BatchService } from './service/batch';
import { PlanService } from './service/plan';
import { ItlService } from './service/itl';
import { signFiles } from './service/sign-files';
import { runFetch, runPreflight } from './service/rollout-checks';
import { parsePkcs11Uri } from '../pkcs11/uri';
import { documentsFolder } from './paths';
import { capfAdd, capfList, capfRemove, capfSet, serviceStatus, tvsAdd, tvsList, tvsRemove } from './service/services';

export interface DialogHost {
  choose(request: RequestOf<'chooseFile'>): Promise<FileChoice>;
}

export interface GuiServiceOptions {
  mode: GuiMode;
  version: string;
  /** Where the demo tokens live (the user's data folder). */
  dataDir: string;
  dialogs?: DialogHost;
  env?: NodeJS.ProcessEnv;
}

export class GuiService implements GuiApi {
  readonly events = new EventHub();
  private readonly tokens: TokenService;
  private readonly batch: BatchService;
  private readonly plans: PlanService;
  private readonly itls: ItlService;

  constructor(private readonly options: GuiServiceOptions) {
    this.tokens = new TokenService({ events: this.events, dataDir: options.dataDir, env: options.env ?? process.env });
    this.batch = new BatchService({ events: this.events, tokens: this.tokens });
    this.plans = new PlanService(this.tokens);
    this.itls = new ItlService(this.tokens, (uri) => this.tokenForUri(uri));
  }

  /** Start watching tokens (insert/removal events). */
  async start(): Promise<void> {
    await this.tokens.start();
  }

  async close(): Promise<void> {
    await this.batch.close();
    await this.tokens.close();
  }

  async appInfo(): Promise<AppInfo> {
    return {
      mode: this.options.mode,
      version: this.options.version,
      dialogs: Boolean(this.options.dialogs),
      // The user's documents (or home) folder, never the app's own folder; the renderer then offers the last used.
      defaultDir: documentsFolder(os.homedir(), process.platform),
      platform: process.platform,
      demo: await this.tokens.demoState(),
    };
  }

  async chooseFile(request: RequestOf<'chooseFile'>): Promise<FileChoice> {
    if (!this.options.dialogs) throw new OpenctlError('file dialogs are not available in web mode: type a path or drop a file');
    return this.options.dialogs.choose(request);
  }

  /** Lists again (the Refresh button), besides the events that follow insertions and removals. */
  listTokens() {
    return this.tokens.refresh();
  }

  login(request: RequestOf<'login'>) {
    return this.tokens.login(request.tokenId, request.pin, request.confirmFinalTry ?? false);
  }

  logout(request: RequestOf<'logout'>) {
    return this.tokens.logout(request.tokenId);
  }

  useDemoTokens() {
    return this.tokens.useDemoTokens();
  }

  readCertificates(request: { file: FileSource }) {
    return readCertificateViews(request.file);
  }

  fetchTlsCertificate(request: { host: string; port: number }) {
    return fetchTlsCertificates(request.host, request.port);
  }

  private readonly fromToken = (uri: string) => this.tokens.certificateForUri(uri);

  loadCluster(request: { path: string }) {
    return loadCluster(request.path, this.fromToken);
  }

  checkCluster(request: { cluster: ClusterDraft }) {
    return checkCluster(request.cluster, this.fromToken);
  }

  saveCluster(request: { path: string; cluster: ClusterDraft; overwrite?: boolean }) {
    return saveCluster(request.path, request.cluster, request.overwrite ?? false, this.fromToken);
  }

  clusterCtlRecords(request: { cluster: ClusterDraft }) {
    return clusterCtlRecords(request.cluster, this.fromToken);
  }

  openCurrentCtl(request: { file: FileSource }) {
    return openCurrentCtl(request.file);
  }

  previewCtl(request: { draft: CtlDraft }) {
    return previewCtl(request.draft, this.tokens);
  }

  signCtl(request: RequestOf<'signCtl'>) {
    return signCtl(request.draft, request.signerTokenId, request.output, request.overwrite ?? false, this.tokens);
  }

  inspect(request: RequestOf<'inspect'>) {
    return inspectFile(request.file, request.trust, request.kind);
  }

  diff(request: RequestOf<'diff'>) {
    return diffFiles(request.old, request.new, { old: request.oldLabel, new: request.newLabel });
  }

  batchStart(request: RequestOf<'batchStart'>) {
    return this.batch.start(request);
  }

  async batchCancel() {
    return this.batch.cancel();
  }

  async batchState() {
    return this.batch.state();
  }

  async mergeClusterIntoCtl(request: RequestOf<'mergeClusterIntoCtl'>) {
    const records = await clusterCtlRecords(request.cluster, this.fromToken);
    return mergeIntoCtl(request.draft, records, this.tokens);
  }

  /** The id of the present token a pkcs11: URI names (label, and serial when given). */
  private async tokenForUri(text: string): Promise<string | undefined> {
    const uri = parsePkcs11Uri(text);
    const { tokens } = await this.tokens.refresh();
    return tokens.find((t) => (uri.token === undefined || t.label === uri.token) && (uri.serial === undefined || t.serial === uri.serial) && t.sast)?.id;
  }

  itlCheck(request: RequestOf<'itlCheck'>) {
    return this.itls.check(request);
  }

  itlSave(request: RequestOf<'itlSave'>) {
    return this.itls.save(request);
  }

  signFiles(request: RequestOf<'signFiles'>) {
    return signFiles(request, this.tokens);
  }

  preflight(request: RequestOf<'preflight'>) {
    return runPreflight(request);
  }

  fetch(request: RequestOf<'fetch'>) {
    return runFetch(request);
  }

  tvsList(request: RequestOf<'tvsList'>) {
    return tvsList(request);
  }

  tvsAdd(request: RequestOf<'tvsAdd'>) {
    return tvsAdd(request);
  }

  tvsRemove(request: RequestOf<'tvsRemove'>) {
    return tvsRemove(request);
  }

  capfList(request: RequestOf<'capfList'>) {
    return capfList(request);
  }

  capfAdd(request: RequestOf<'capfAdd'>) {
    return capfAdd(request);
  }

  capfSet(request: RequestOf<'capfSet'>) {
    return capfSet(request);
  }

  capfRemove(request: RequestOf<'capfRemove'>) {
    return capfRemove(request);
  }

  serviceStatus(request: RequestOf<'serviceStatus'>) {
    return serviceStatus(request);
  }

  planCheck(request: RequestOf<'planCheck'>) {
    return this.plans.check(request.request);
  }

  planWrite(request: RequestOf<'planWrite'>) {
    return this.plans.write(request);
  }
}
