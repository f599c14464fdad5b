import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import { buildSignedFile, buildTrustList, parseFile } from '../formats';
import { Role, TFTP_CAPABLE_ROLES, type DnStyle, type RecordSpec, type TrustList, type TrustRecord, type Version } from '../formats/model';
import type { PhoneFile, TvsModel, TvsCertificate } from '../trust';
import { OpenctlError } from '../util/errors';
import { checkListSigner, type SignedListInput } from './common';

/** One trust list of the cluster as the plan evolves it: records, signer, and the header choices to keep. */
export interface ListState {
  kind: 'ctl' | 'itl';
  filename: string;
  hash: HashAlgorithm;
  signerVersion?: Version;
  dnStyle: DnStyle;
  records: Array<TrustRecord | RecordSpec>;
  signer: Signer;
}

export interface ConfigSource {
  /** The plain config's name, e.g. `SEP001122334455.cnf.xml` (served signed as `<name>.sgn`). */
  name: string;
  body: Buffer;
}

export function certOf(r: TrustRecord | RecordSpec): Buffer | undefined {
  return r.certificate ? Buffer.from(r.certificate) : undefined;
}

/** CUCM's semicolon DN spelling when the list uses it, so new records look like their neighbours. */
export function dnStyleOf(list: TrustList): DnStyle {
  return /;/.test(list.header.signer.subject) ? 'cucm' : 'comma';
}

export function listState(list: TrustList, signer: Signer): ListState {
  return {
    kind: list.kind,
    filename: list.header.filename,
    hash: list.header.hash,
    signerVersion: list.header.signerVersion,
    dnStyle: dnStyleOf(list),
    records: list.records.slice(),
    signer,
  };
}

/**
 * The cluster as a plan sees it: its CTL (mixed mode) and the ITL of one TFTP server, who signs them and the
 * configs, and which configs the phones download. Steps change it; `build` writes the files it serves.
 */
export class ClusterState {
  /** Extra certificates TVS vouches for (e.g. another cluster's, imported for a move). */
  extraTvs: TvsCertificate[] = [];
  /** Serve configs unsigned (the rollback procedure's second step). */
  unsignedConfigs = false;

  constructor(
    public ctl: ListState | undefined,
    public itl: ListState,
    public configSigner: Signer,
    public configs: ConfigSource[],
    public configHash: HashAlgorithm,
  ) {}

  clone(): ClusterState {
    const copy = (l: ListState | undefined) => (l ? { ...l, records: l.records.slice() } : undefined);
    const c = new ClusterState(copy(this.ctl), copy(this.itl)!, this.configSigner, this.configs.slice(), this.configHash);
    c.extraTvs = this.extraTvs.slice();
    c.unsignedConfigs = this.unsignedConfigs;
    return c;
  }

  lists(): ListState[] {
    return this.ctl ? [this.ctl, this.itl] : [this.itl];
  }

  /** Replace a certificate wherever a record carries it (same role, DNS name and address). Returns the count. */
  replaceCertificate(oldDer: Buffer, newDer: Buffer): number {
    let n = 0;
    for (const list of this.lists()) {
      list.records = list.records.map((r) => {
        const cert = certOf(r);
        if (!cert || !cert.equals(oldDer)) return r;
        n += 1;
        return { role: r.role ?? Role.SAST, certificate: newDer, dnsName: r.dnsName || undefined, ipv4: r.ipv4 };
      });
    }
    return n;
  }

  /** The rollback ITL: SAST and CAPF only, empty TVS and TFTP sections. */
  rollbackItl(): ListState {
    return { ...this.itl, records: this.itl.records.filter((r) => r.role === Role.SAST || r.role === Role.CAPF) };
  }

  /** Every certificate of the cluster's lists, with its roles: what the cluster's TVS vouches for. */
  tvs(): TvsModel {
    const byCert = new Map<string, TvsCertificate & { roles: number[] }>();
    const add = (der: Buffer, role: number) => {
      const key = der.toString('base64');
      const entry = byCert.get(key) ?? { certificate: der, roles: [] };
      if (!entry.roles.includes(role)) entry.roles.push(role);
      byCert.set(key, entry);
    };
    for (const list of this.lists()) {
      for (const r of list.records) {
        const cert = certOf(r);
        if (cert && r.role !== undefined) add(cert, r.role);
      }
    }
    // CUCM's TVS vouches for the certificates of its trust stores whatever their role in the lists.
    const knows: TvsCertificate[] = [...byCert.values()].map(({ certificate }) => ({ certificate }));
    const service = this.itl.records.filter((r) => r.role === Role.TVS).map(certOf).filter((c): c is Buffer => !!c);
    return { knows: [...knows, ...this.extraTvs], serviceCertificates: service };
  }

  /** Is the ITL signed by a CallManager/TFTP certificate (CUCM before 12.0) rather than ITLRecovery? */
  itlSignedByCallManager(): boolean {
    const signer = Buffer.from(this.itl.signer.certificate);
    return this.itl.records.some(
      (r) => r.role !== undefined && (r.role === Role.CCM || TFTP_CAPABLE_ROLES.includes(r.role)) && !!certOf(r)?.equals(signer),
    );
  }

  /** The files the TFTP server serves: CTL (mixed mode), ITL, configs. */
  async build(timestamp: number, options: { rollback?: boolean; ctlSigner?: Signer } = {}): Promise<PhoneFile[]> {
    const files: PhoneFile[] = [];
    const list = async (state: ListState, signer: Signer) => files.push(await buildListFile(state, signer, timestamp));
    if (this.ctl) await list(this.ctl, options.ctlSigner ?? this.ctl.signer);
    await list(options.rollback ? this.rollbackItl() : this.itl, this.itl.signer);
    for (const c of this.configs) {
      if (this.unsignedConfigs) {
        files.push({ name: c.name, bytes: c.body });
        continue;
      }
      const name = `${c.name}.sgn`;
      const bytes = await buildSignedFile({ body: c.body, filename: name, signer: this.configSigner, hash: this.configHash, timestamp });
      files.push({ name, bytes, parsed: parseFile(bytes, { file: name }) });
    }
    return files;
  }
}

/** Build, sign and parse one trust list of a plan step. */
export async function buildListFile(state: ListState, signer: Signer, timestamp: number): Promise<PhoneFile> {
  const bytes = await buildTrustList({
    kind: state.kind,
    filename: state.filename,
    records: state.records,
    signer,
    hash: state.hash,
    signerVersion: state.signerVersion,
    dnStyle: state.dnStyle,
    timestamp,
  });
  return { name: state.filename, bytes, parsed: parseFile(bytes, { file: state.filename }) };
}

/** The named inputs every procedure starts from: what phones hold now and the keys that sign it. */
export interface CurrentInputs {
  itl: SignedListInput;
  ctl?: SignedListInput;
  configSigner: Signer;
  configSignerSource: string;
  configs: ConfigSource[];
  configHash: HashAlgorithm;
}

/** The cluster as it serves now, after checking that each given key really signs what it is given for. */
export function currentClusterState(inputs: CurrentInputs): ClusterState {
  checkListSigner(inputs.itl);
  if (inputs.ctl) checkListSigner(inputs.ctl);
  const state = new ClusterState(
    inputs.ctl ? listState(inputs.ctl.list, inputs.ctl.signer) : undefined,
    listState(inputs.itl.list, inputs.itl.signer),
    inputs.configSigner,
    inputs.configs,
    inputs.configHash,
  );
  checkConfigSigner(state, inputs.configSignerSource);
  return state;
}

export function checkConfigSigner(state: ClusterState, source: string): void {
  const cert = Buffer.from(state.configSigner.certificate);
  const ok = state.lists().some((l) => l.records.some((r) => r.role !== undefined && TFTP_CAPABLE_ROLES.includes(r.role) && !!certOf(r)?.equals(cert)));
  if (!ok) {
    throw new OpenctlError(`${source}: its certificate is not a TFTP or CCM+TFTP record of the current ITL or CTL: phones reject the configs it signs today`);
  }
}

