/**
 * A plan as a person asks for it — files by path, keys by a signer spec — turned into a built Plan. The CLI's
 * `openctl plan ...` and the GUI's Rollout plan wizard both come through here, so an input is read, checked and
 * reported the same way whichever asked. Only how a key is named differs: a signer string in the CLI
 * (`key.pem`, `pkcs11:...`), a token or PEM choice in the GUI; the caller opens it (`PlanInputHost`).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import type { TrustList } from '../formats/model';
import { readPhoneFile } from '../fetch/inputs';
import { OpenctlError } from '../util/errors';
import { MAX_TEXT_BYTES, readInput } from '../util/read-input';
import type { ConfigSource } from './cluster-state';
import { SAMPLE_CONFIG, type CommonInputs, type ListInput, type NewCertificate, type SignedListInput } from './common';
import { MOVE_CLUSTER_METHODS, NEW_CERT_FIELD, REGENERATE_KINDS, type MoveClusterMethod, type PlanField, type RegenerateKind } from './fields';
import type { Plan } from './model';
import { planMoveCluster } from './move-cluster';
import { parseOrder, planRegenerate } from './regenerate';
import { planReimage } from './reimage';
import { planRollback } from './rollback';
import { aList } from '../util/words';

export interface PlanCommonRequest {
  /** Plain configs signed at every step (default: a sample config standing for every phone's). */
  configs?: string[];
  digest?: HashAlgorithm;
  /** false: phones without Security by Default (no TVS). Default true. */
  sbd?: boolean;
  /** Header timestamp of step 1 (Unix seconds); default: now. */
  timestamp?: number;
}

/** What phones hold now and the keys that sign it: regenerate, reimage and rollback share these. */
export interface CurrentRequest<S> extends PlanCommonRequest {
  itl?: string;
  ctl?: string;
  itlSigner?: S;
  ctlSigner?: S;
  configSigner?: S;
}

export interface RegenerateRequest<S> extends CurrentRequest<S> {
  procedure: 'regenerate';
  certs: string[];
  newCerts: Partial<Record<RegenerateKind, S>>;
  /** Steps in order, "," between steps and "+" within one. */
  order?: string;
}

export interface MoveClusterRequest<S> extends PlanCommonRequest {
  procedure: 'move-cluster';
  method: string;
  fromItl?: string;
  fromCtl?: string;
  fromItlSigner?: S;
  toItl?: string;
  toCtl?: string;
  toCtlSigner?: S;
  toConfigSigner?: S;
}

export interface ReimageRequest<S> extends CurrentRequest<S> {
  procedure: 'reimage';
  newTftp?: S;
  newItlSigner?: S;
  newTvs?: S;
  newCapf?: S;
  withoutRollback?: boolean;
}

export interface RollbackRequest<S> extends CurrentRequest<S> {
  procedure: 'rollback';
  nextItlSigner?: S;
  nextConfigSigner?: S;
}

export type PlanRequest<S> = RegenerateRequest<S> | MoveClusterRequest<S> | ReimageRequest<S> | RollbackRequest<S>;

/** How the caller names fields and opens keys. */
export interface PlanInputHost<S> {
  /** Relative paths are read from here. */
  cwd: string;
  signal?: AbortSignal;
  /** A field as the person knows it: `--itl-signer` in the CLI, a form label in the GUI. */
  name(field: PlanField): string;
  /** A spec in words, for messages (`key.pem`, `token "eToken-A"`). */
  describe(spec: S): string;
  openSigner(spec: S): Promise<Signer>;
  /** Whether the spec gives a key too (a PEM file with a private key, a token); `mustSign` when only a key would do. */
  holdsKey(spec: S, mustSign: boolean): Promise<boolean>;
  /** The certificate of a spec that gives no key. */
  loadCertificate(spec: S): Promise<Buffer>;
}

/** True when the file holds a PEM private key (a new certificate given with its key). */
export async function fileHoldsKey(file: string): Promise<boolean> {
  try {
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test((await readInput(file, { maxBytes: MAX_TEXT_BYTES })).toString('latin1'));
  } catch {
    return false; // the certificate loader names the file in its error
  }
}

/**
 * Build the plan a request asks for. Every signer it opens is closed before it returns (tokens log out): a
 * built plan holds signed bytes only.
 */
export async function buildPlan<S>(request: PlanRequest<S>, host: PlanInputHost<S>): Promise<Plan> {
  const inputs = new PlanInputs(host);
  try {
    switch (request.procedure) {
      case 'regenerate':
        return await regenerate(request, inputs);
      case 'move-cluster':
        return await moveCluster(request, inputs);
      case 'reimage':
        return await reimage(request, inputs);
      case 'rollback':
        return await rollback(request, inputs);
    }
  } finally {
    await inputs.close();
  }
}

class PlanInputs<S> {
  private readonly opened: Signer[] = [];
  constructor(readonly host: PlanInputHost<S>) {}

  source(field: PlanField, text: string): string {
    return `${this.host.name(field)} ${text}`;
  }

  required<T>(value: T | undefined, field: PlanField, why: string): T {
    if (value === undefined || value === '') throw new OpenctlError(`${this.host.name(field)} is required: ${why}`);
    return value;
  }

  async signer(spec: S): Promise<Signer> {
    const s = await this.host.openSigner(spec);
    this.opened.push(s);
    return s;
  }

  async signed(list: ListInput, field: PlanField, spec: S): Promise<SignedListInput> {
    return { ...list, signer: await this.signer(spec), signerSource: this.source(field, this.host.describe(spec)) };
  }

  /** A new certificate: with its key when the spec gives one (or `mustSign`), else the certificate only. */
  async newCert(spec: S, field: PlanField, mustSign: boolean): Promise<NewCertificate> {
    const source = this.source(field, this.host.describe(spec));
    if (await this.host.holdsKey(spec, mustSign)) {
      const signer = await this.signer(spec);
      return { certificate: Buffer.from(signer.certificate), signer, source };
    }
    return { certificate: await this.host.loadCertificate(spec), source };
  }

  async list(spec: string, field: PlanField, kind: 'ctl' | 'itl'): Promise<ListInput> {
    const f = await readPhoneFile(spec, { cwd: this.host.cwd, signal: this.host.signal });
    const list = f.parsed;
    const source = this.source(field, spec);
    if (!list || (list.kind !== 'ctl' && list.kind !== 'itl')) throw new OpenctlError(`${source}: not a CTL or ITL`);
    if (list.kind !== kind) throw new OpenctlError(`${source}: is ${aList(list.kind)}, not ${aList(kind)}`);
    // Phones know a list by its header filename (ITLFile.tlv), whatever the local file is called.
    return { name: list.header.filename || f.name, list: list as TrustList, source };
  }

  async configs(specs: readonly string[]): Promise<ConfigSource[]> {
    if (specs.length === 0) return [SAMPLE_CONFIG];
    const configs: ConfigSource[] = [];
    for (const spec of specs) {
      const file = path.resolve(this.host.cwd, spec);
      const body = await readInput(file);
      if (/\.sgn$/i.test(spec) || (body[0] === 1 && body[1] === 0 && body[2] === 2)) {
        throw new OpenctlError(`${this.source('configs', spec)}: give the plain config (the plan signs it at every step), not a signed file`);
      }
      configs.push({ name: path.basename(file), body });
    }
    return configs;
  }

  async common(request: PlanCommonRequest): Promise<CommonInputs> {
    return {
      configs: await this.configs(request.configs ?? []),
      configHash: request.digest ?? 'sha1',
      sbd: request.sbd ?? true,
      timestamp: request.timestamp ?? Math.floor(Date.now() / 1000),
    };
  }

  /** The current ITL (and CTL) with the keys that re-sign them, and the config signer. */
  async current(request: CurrentRequest<S>, why: { itlSigner: string; ctlSigner: string; configSigner: string }) {
    const itl = await this.list(this.required(request.itl, 'itl', 'the ITL the phones hold now'), 'itl', 'itl');
    const ctl = request.ctl ? await this.list(request.ctl, 'ctl', 'ctl') : undefined;
    const itlSigner = this.required(request.itlSigner, 'itlSigner', why.itlSigner);
    const configSigner = this.required(request.configSigner, 'configSigner', why.configSigner);
    return {
      ...(await this.common(request)),
      itl: await this.signed(itl, 'itlSigner', itlSigner),
      ctl: ctl ? await this.signed(ctl, 'ctlSigner', this.required(request.ctlSigner, 'ctlSigner', why.ctlSigner)) : undefined,
      configSigner: await this.signer(configSigner),
      configSignerSource: this.source('configSigner', this.host.describe(configSigner)),
    };
  }

  async close(): Promise<void> {
    for (const s of this.opened.splice(0)) await s.close?.().catch(() => undefined);
  }
}

async function regenerate<S>(request: RegenerateRequest<S>, inputs: PlanInputs<S>): Promise<Plan> {
  const certsName = inputs.host.name('certs');
  const certs = [...new Set(request.certs)].map((c) => {
    const k = c.toLowerCase();
    if (!(REGENERATE_KINDS as readonly string[]).includes(k)) throw new OpenctlError(`${certsName} ${c}: expected one of ${REGENERATE_KINDS.join(', ')}`);
    return k as RegenerateKind;
  });
  if (certs.length === 0) throw new OpenctlError(`${certsName} is required: which certificates are regenerated`);
  const current = await inputs.current(request, {
    itlSigner: 'the plan re-signs the ITL at every step',
    ctlSigner: 'with a current CTL, the plan re-signs the CTL at every step',
    configSigner: 'the plan signs the configs at every step',
  });
  const newCerts: Partial<Record<RegenerateKind, NewCertificate>> = {};
  for (const kind of certs) {
    const field = NEW_CERT_FIELD[kind];
    const spec = request.newCerts[kind];
    if (spec === undefined) throw new OpenctlError(`${certsName} ${kind}: give the new certificate with ${inputs.host.name(field)}`);
    newCerts[kind] = await inputs.newCert(spec, field, kind !== 'capf' && kind !== 'tvs');
  }
  return planRegenerate({
    ...current,
    certs,
    newCerts,
    order: request.order ? parseOrder(request.order, certs, { order: inputs.host.name('order'), certs: certsName }) : undefined,
  });
}

async function moveCluster<S>(request: MoveClusterRequest<S>, inputs: PlanInputs<S>): Promise<Plan> {
  const method = request.method.toLowerCase();
  if (!(MOVE_CLUSTER_METHODS as readonly string[]).includes(method)) {
    throw new OpenctlError(`${inputs.host.name('method')} ${request.method}: expected one of ${MOVE_CLUSTER_METHODS.join(', ')}`);
  }
  const fromItl = await inputs.list(inputs.required(request.fromItl, 'fromItl', 'the ITL the phones hold now'), 'fromItl', 'itl');
  const fromCtl = request.fromCtl ? await inputs.list(request.fromCtl, 'fromCtl', 'ctl') : undefined;
  const toItl = await inputs.list(inputs.required(request.toItl, 'toItl', 'the ITL cluster B serves'), 'toItl', 'itl');
  const toCtl = request.toCtl ? await inputs.list(request.toCtl, 'toCtl', 'ctl') : undefined;
  const toConfigSigner = inputs.required(request.toConfigSigner, 'toConfigSigner', "the plan signs cluster B's configs");
  return planMoveCluster({
    ...(await inputs.common(request)),
    method: method as MoveClusterMethod,
    fromItl,
    fromCtl,
    fromItlSigner: request.fromItlSigner !== undefined ? await inputs.signer(request.fromItlSigner) : undefined,
    fromItlSignerSource: request.fromItlSigner !== undefined ? inputs.source('fromItlSigner', inputs.host.describe(request.fromItlSigner)) : undefined,
    toItl,
    toCtl,
    toCtlSigner: request.toCtlSigner !== undefined ? await inputs.signer(request.toCtlSigner) : undefined,
    toConfigSigner: await inputs.signer(toConfigSigner),
  });
}

async function reimage<S>(request: ReimageRequest<S>, inputs: PlanInputs<S>): Promise<Plan> {
  const current = await inputs.current(request, {
    itlSigner: 'the plan re-signs the ITL',
    ctlSigner: 'with a current CTL, the plan re-signs the CTL',
    configSigner: 'the plan signs the configs',
  });
  const newTftp = inputs.required(request.newTftp, 'newTftp', "the re-imaged server's new key and certificate");
  const optional = (spec: S | undefined, field: PlanField, mustSign: boolean) =>
    spec !== undefined ? inputs.newCert(spec, field, mustSign) : Promise.resolve(undefined);
  return planReimage({
    ...current,
    newTftp: await inputs.newCert(newTftp, 'newTftp', true),
    newItlSigner: await optional(request.newItlSigner, 'newItlSigner', true),
    newTvs: await optional(request.newTvs, 'newTvs', false),
    newCapf: await optional(request.newCapf, 'newCapf', false),
    withoutRollback: Boolean(request.withoutRollback),
  });
}

async function rollback<S>(request: RollbackRequest<S>, inputs: PlanInputs<S>): Promise<Plan> {
  const current = await inputs.current(request, {
    itlSigner: 'it signs the rollback ITL',
    ctlSigner: 'with a current CTL, the plan re-signs the CTL',
    configSigner: 'the plan signs the configs',
  });
  return planRollback({
    ...current,
    nextItlSigner: request.nextItlSigner !== undefined ? await inputs.newCert(request.nextItlSigner, 'nextItlSigner', true) : undefined,
    nextConfigSigner: request.nextConfigSigner !== undefined ? await inputs.newCert(request.nextConfigSigner, 'nextConfigSigner', true) : undefined,
  });
}
