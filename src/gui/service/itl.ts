/**
 * The ITL builder's side of the service: one ITL per TFTP server of a cluster file, built in memory by the same
 * code as `openctl batch itl` (src/pipeline/batch-itl.ts), each checked against its own signer record and
 * preflighted against the ITL that server's phones hold now. Save writes exactly the checked bytes (one check at
 * a time is kept), and only when every server's ITL passed.
 */
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { loadClusterFile, isTftpServer, type ClusterConfig, type ClusterServer } from '../../cluster';
import { buildServerItl, checkServerName } from '../../pipeline';
import { verifyTrustListSelf } from '../../crypto/verify';
import { digest } from '../../crypto/hash';
import { loadPemSigner } from '../../crypto/pem-signer';
import type { Signer } from '../../crypto/signer';
import { readCertFile, readPhoneTrust, toPhoneFile } from '../../fetch/inputs';
import { preflight, NO_TVS } from '../../trust';
import { isPkcs11Uri } from '../../pkcs11/uri';
import { writeFileAtomic } from '../../util/atomic-write';
import { makeFolder } from '../../util/make-folder';
import { requireRegularFile } from './files';
import { OpenctlError } from '../../util/errors';
import type { PlanKey, RequestOf } from '../contract';
import type { ItlCheckView, ItlServerView } from '../types';
import { recordView } from './ctl';
import { describeKey, openKey } from './keys';
import type { TokenAccess } from './token-access';

/** Finds the token a cluster's pkcs11: itlSigner names, among the tokens present. */
export type TokenForUri = (uri: string) => Promise<string | undefined>;

interface CheckedItls {
  view: ItlCheckView;
  files: Array<{ server: string; bytes: Buffer }>;
}

/** Stands for the signer's own SAST record when the screen chose a key other than the cluster's itlSigner. */
const CHOSEN_SIGNER = '#signer-chosen-on-screen';

export class ItlService {
  private last?: CheckedItls;

  constructor(
    private readonly tokens: TokenAccess,
    private readonly tokenForUri: TokenForUri,
  ) {}

  async check(request: RequestOf<'itlCheck'>): Promise<ItlCheckView> {
    this.last = undefined;
    await requireRegularFile(request.cluster);
    const cluster = await loadClusterFile(path.resolve(request.cluster));
    const servers = cluster.servers.filter(isTftpServer);
    if (servers.length === 0) throw new OpenctlError(`${cluster.file}: no TFTP server (a server with a "tftp" or "ccm-tftp" certificate)`);
    const views: ItlServerView[] = [];
    const files: CheckedItls['files'] = [];
    const timestamp = Math.floor(Date.now() / 1000);
    for (const server of servers) {
      const choice = request.servers?.find((s) => s.server === server.name);
      const built = await this.checkServer(cluster, server, request.rollback ?? false, timestamp, choice?.signer, choice?.heldItl);
      views.push(built.view);
      if (built.bytes) files.push({ server: server.name, bytes: built.bytes });
    }
    const ok = views.every((v) => !v.problem && v.selfCheck?.valid && v.verdict && v.verdict.verdict !== 'rejected');
    const view: ItlCheckView = { checkId: randomUUID(), rollback: request.rollback ?? false, cluster: cluster.file ?? request.cluster, servers: views, ok };
    this.last = { view, files };
    return view;
  }

  private async checkServer(
    cluster: ClusterConfig,
    server: ClusterServer,
    rollback: boolean,
    timestamp: number,
    chosen: PlanKey | undefined,
    heldItl: string | undefined,
  ): Promise<{ view: ItlServerView; bytes?: Buffer }> {
    const clusterSigner = server.itlSigner;
    const view: ItlServerView = {
      server: server.name,
      signer: { source: chosen ? describeKey(chosen, this.tokens) : (clusterSigner ?? ''), description: '' },
      records: [],
      heldBy: heldItl ? path.resolve(heldItl) : 'nothing',
    };
    let signer: Signer | undefined;
    try {
      checkServerName(server.name);
      if (!chosen && !clusterSigner) throw new OpenctlError(`server ${server.name}: no "itlSigner" in the cluster file: choose the key that signs its ITL`);
      signer = chosen ? await openKey(chosen, this.tokens) : await this.openClusterSigner(clusterSigner!);
      view.signer.description = signer.description;
      const { bytes, list } = await buildServerItl({
        cluster,
        server,
        rollback,
        timestamp,
        signer,
        signerSpec: chosen ? CHOSEN_SIGNER : clusterSigner!,
        loadCertificate: (spec) => this.loadCertificate(spec),
        file: `${server.name}/ITLFile.tlv`,
      });
      view.signer.subject = list.header.signer.subject;
      view.records = list.records.map((record, i) => recordView(i, { record, source: server.name }));
      view.bytes = bytes.length;
      view.sha1 = digest('sha1', bytes).toString('hex');
      const self = verifyTrustListSelf(list);
      view.selfCheck = { valid: self.valid, reason: self.reason };
      // The same verdict `openctl preflight --phone-has HELD --deploy ITLFile.tlv --json` gives.
      if (heldItl) await requireRegularFile(heldItl);
      const phone = await readPhoneTrust(heldItl ? [heldItl] : [], true);
      view.verdict = preflight(phone, [toPhoneFile('ITLFile.tlv', bytes)], NO_TVS).verdicts[0];
      return { view, bytes };
    } catch (err) {
      if (!(err instanceof OpenctlError)) throw err;
      view.problem = err.message;
      return { view };
    } finally {
      await signer?.close?.();
    }
  }

  private async openClusterSigner(spec: string): Promise<Signer> {
    if (!isPkcs11Uri(spec)) return loadPemSigner(spec);
    const tokenId = await this.tokenForUri(spec);
    if (!tokenId) throw new OpenctlError(`${spec}: no token present matches the cluster's itlSigner: insert it, or choose another key`);
    return this.tokens.signerFor(tokenId);
  }

  private async loadCertificate(spec: string): Promise<Buffer> {
    if (isPkcs11Uri(spec)) {
      const tokenId = await this.tokenForUri(spec);
      if (!tokenId) throw new OpenctlError(`${spec}: no token present holds this certificate`);
      return this.tokens.certificateOf(tokenId);
    }
    const [first] = await readCertFile(spec);
    if (!first) throw new OpenctlError(`${spec}: holds no certificate`);
    return first;
  }

  /** Write the ITLs checked last to OUT/<server>/ITLFile.tlv; an existing file is replaced only when asked. */
  async save(request: RequestOf<'itlSave'>): Promise<ItlCheckView> {
    const checked = this.last;
    if (!checked || checked.view.checkId !== request.checkId) throw new OpenctlError('these ITLs are no longer the ones checked last: check them again before saving');
    if (!checked.view.ok) throw new OpenctlError('not saved: an ITL has a problem or phones would reject it (see its verdict)');
    const out = path.resolve(request.output);
    const targets = checked.files.map((f) => ({ ...f, file: path.join(out, f.server, 'ITLFile.tlv') }));
    if (!request.overwrite) {
      for (const t of targets) {
        if (await fs.lstat(t.file).then(() => true, () => false)) throw new OpenctlError(`${t.file}: already exists: choose "Replace existing files" or another folder; nothing written`);
      }
    }
    for (const t of targets) {
      await makeFolder(path.dirname(t.file)).catch((err: NodeJS.ErrnoException) => {
        throw new OpenctlError(`${path.dirname(t.file)}: cannot create the folder: ${err.code ?? err.message}`);
      });
      await writeFileAtomic(t.file, t.bytes, { overwrite: request.overwrite ?? false });
    }
    checked.view.written = targets.map((t) => t.file);
    return { ...checked.view };
  }
}
