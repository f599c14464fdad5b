import type { Signer } from '../crypto/signer';
import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import { sameDn } from '../formats/dn';
import { certificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { ClusterState, certOf, currentClusterState } from './cluster-state';
import { ctlUpdateAction, phoneHolding, resetActions, stepDir, type CommonInputs, type NewCertificate, type SignedListInput } from './common';
import type { Plan, PlanStep } from './model';

export { REGENERATE_KINDS as CERT_KINDS, type RegenerateKind as CertKind } from './fields';
import { REGENERATE_KINDS as CERT_KINDS, REGENERATE_KIND_LABEL, type RegenerateKind as CertKind } from './fields';

/** The safe default order: TFTP last (formats.md), everything else one certificate per step. */
export const DEFAULT_ORDER: readonly CertKind[] = CERT_KINDS;

const FAMILY: Record<CertKind, readonly number[]> = {
  capf: [Role.CAPF],
  tvs: [Role.TVS],
  itlrecovery: [Role.SAST],
  callmanager: [Role.CCM, Role.CCM_TFTP],
  tftp: TFTP_CAPABLE_ROLES,
};

const LABEL = REGENERATE_KIND_LABEL;

export interface RegenerateInputs extends CommonInputs {
  ctl?: SignedListInput;
  itl: SignedListInput;
  configSigner: Signer;
  configSignerSource: string;
  certs: CertKind[];
  newCerts: Partial<Record<CertKind, NewCertificate>>;
  /** Explicit steps (each a group regenerated together); default: one per step in DEFAULT_ORDER. */
  order?: CertKind[][];
}

/** `names`: how the order and the certificate list are called to the person (CLI options by default). */
export function parseOrder(spec: string, certs: readonly CertKind[], names: { order: string; certs: string } = { order: '--order', certs: '--cert' }): CertKind[][] {
  const where = `${names.order} "${spec}"`;
  const groups = spec.split(',').map((g) => g.split('+').map((c) => c.trim().toLowerCase()).filter(Boolean));
  const seen = new Set<string>();
  for (const group of groups) {
    if (group.length === 0) throw new OpenctlError(`${where}: empty step`);
    for (const c of group) {
      if (!(CERT_KINDS as readonly string[]).includes(c)) throw new OpenctlError(`${where}: unknown certificate "${c}" (${CERT_KINDS.join(', ')})`);
      if (!certs.includes(c as CertKind)) throw new OpenctlError(`${where}: "${c}" is not one of the ${names.certs} values`);
      if (seen.has(c)) throw new OpenctlError(`${where}: "${c}" appears twice`);
      seen.add(c);
    }
  }
  const missing = certs.filter((c) => !seen.has(c));
  if (missing.length) throw new OpenctlError(`${where}: it leaves out ${missing.join(', ')}`);
  return groups as CertKind[][];
}

/**
 * Regenerating certificates, one step per certificate (or per group of `--order`). Each step replaces the old
 * certificate wherever the CTL and ITL carry it, switches the signer of whatever it signed, and serves the files
 * CUCM would serve afterwards; the check then walks a phone through them.
 */
export async function planRegenerate(inputs: RegenerateInputs): Promise<Plan> {
  const state = currentClusterState(inputs);
  if (inputs.certs.length === 0) throw new OpenctlError('--cert: name at least one certificate to regenerate');
  const groups = inputs.order ?? DEFAULT_ORDER.filter((c) => inputs.certs.includes(c)).map((c) => [c]);

  // Which old certificate each new one replaces, decided up front against the current files.
  const replaced = new Map<CertKind, Buffer>();
  for (const kind of inputs.certs) {
    const fresh = inputs.newCerts[kind];
    if (!fresh) throw new OpenctlError(`--cert ${kind}: give the new certificate with --new-${kind}`);
    replaced.set(kind, findReplaced(state, kind, fresh));
  }
  const seen = new Map<string, CertKind>();
  for (const [kind, old] of replaced) {
    const other = seen.get(old.toString('base64'));
    if (other) throw new OpenctlError(`--cert ${other} and --cert ${kind} name the same certificate (one CCM+TFTP certificate): give one of them`);
    seen.set(old.toString('base64'), kind);
  }

  const violations: string[] = [];
  const notes: string[] = [];
  const steps: PlanStep[] = [];
  const mixed = !!state.ctl;
  let timestamp = inputs.timestamp;

  for (const [gi, group] of groups.entries()) {
    const signedByCallManager = state.itlSignedByCallManager();
    const touchesTftp = group.some((k) => k === 'tftp' || signsConfigs(state, replaced.get(k)!));
    if (touchesTftp && gi < groups.length - 1) {
      violations.push(
        `step ${gi + 1} regenerates the TFTP certificate before ${groups.slice(gi + 1).flat().join(', ')}: regenerate the TFTP certificate last`,
      );
    }
    const callManager = group.some((k) => k === 'callmanager' || (k === 'tftp' && isItlSigner(state, replaced.get(k)!)));
    if (callManager && group.includes('tvs') && signedByCallManager) {
      violations.push(
        `step ${gi + 1} regenerates the CallManager and TVS certificates together while the ITL is signed by the CallManager certificate: phones could not ask TVS about the new ITL signer`,
      );
    }

    let nextCtlSigner: Signer | undefined;
    const actions: string[] = [];
    for (const kind of group) {
      const fresh = inputs.newCerts[kind]!;
      const old = replaced.get(kind)!;
      const signs: string[] = [];
      if (isItlSigner(state, old)) signs.push('ITL');
      if (Buffer.from(state.configSigner.certificate).equals(old)) signs.push('configs');
      const ctlSigned = !!state.ctl && Buffer.from(state.ctl.signer.certificate).equals(old);
      if (ctlSigned) signs.push('CTL');
      if (signs.length > 0 && !fresh.signer) {
        throw new OpenctlError(
          `${fresh.source}: the ${LABEL[kind]} certificate signs the ${signs.join(' and the ')}: give its key too (a PEM with key and certificate, or a pkcs11: URI)`,
        );
      }
      state.replaceCertificate(old, fresh.certificate);
      if (isItlSigner(state, old)) state.itl.signer = fresh.signer!;
      if (Buffer.from(state.configSigner.certificate).equals(old)) state.configSigner = fresh.signer!;
      if (ctlSigned) nextCtlSigner = fresh.signer!;
      actions.push(...regenActions(kind, signs));
    }
    if (mixed) {
      actions.push(
        nextCtlSigner
          ? ctlUpdateAction('Update the CTL with the new certificates, signed once more with the OLD key (phones only trust the old one yet): the next step signs with the new key', 'the old key')
          : ctlUpdateAction('Update the CTL with the new certificates', 'a SAST token of the current CTL'),
      );
    }
    actions.push(...resetActions(mixed));
    const files = await state.build(timestamp);
    steps.push({ dir: stepDir(steps.length + 1, `regenerate-${group.join('-and-')}`), title: `Regenerate ${group.map((k) => LABEL[k]).join(' and ')}`, actions, files, tvs: state.tvs() });
    timestamp += 1;
    if (nextCtlSigner && state.ctl) {
      state.ctl.signer = nextCtlSigner;
      if (gi === groups.length - 1) {
        const files2 = await state.build(timestamp);
        steps.push({
          dir: stepDir(steps.length + 1, 'ctl-signed-by-new-key'),
          title: 'Sign the CTL with the new key',
          actions: [ctlUpdateAction('Update the CTL signed with the new key; it drops the old certificate', 'the new key'), ...resetActions(true)],
          files: files2,
          tvs: state.tvs(),
        });
        timestamp += 1;
      }
    }
  }
  if (!inputs.sbd) notes.push('Checked for phones without Security by Default (7940/7960): they cannot ask TVS.');
  if (!mixed) notes.push('No CTL given: the cluster is modelled in non-secure mode (ITL only).');
  notes.push('One ITL is modelled (the given TFTP server\'s); repeat the check for the ITL of every TFTP server.');
  return {
    procedure: 'regenerate',
    summary: `Regenerate ${groups.map((g) => g.map((k) => LABEL[k]).join(' + ')).join(', then ')}`,
    initial: phoneHolding(inputs.ctl, inputs.itl, inputs.sbd),
    steps,
    violations,
    notes,
  };
}

function isItlSigner(state: ClusterState, cert: Buffer): boolean {
  return Buffer.from(state.itl.signer.certificate).equals(cert);
}

function signsConfigs(state: ClusterState, cert: Buffer): boolean {
  return Buffer.from(state.configSigner.certificate).equals(cert);
}

/** The certificate of `kind` that `fresh` replaces: same function, same subject (CUCM keeps the subject). */
function findReplaced(state: ClusterState, kind: CertKind, fresh: NewCertificate): Buffer {
  const lists = kind === 'itlrecovery' ? [state.itl] : state.lists();
  const candidates = new Map<string, Buffer>();
  for (const l of lists) {
    for (const r of l.records) {
      const cert = certOf(r);
      if (!cert || r.role === undefined || !FAMILY[kind].includes(r.role)) continue;
      if (kind === 'itlrecovery' && !cert.equals(Buffer.from(state.itl.signer.certificate))) continue;
      candidates.set(cert.toString('base64'), cert);
    }
  }
  const subject = certificateInfo(fresh.certificate).subject;
  const all = [...candidates.values()];
  const bySubject = all.filter((c) => sameDn(certificateInfo(c).subject, subject));
  const chosen = bySubject.length === 1 ? bySubject[0] : bySubject.length === 0 && all.length === 1 ? all[0] : undefined;
  if (!chosen) {
    const where = kind === 'itlrecovery' ? 'the ITL signer (SAST of the ITL)' : `a ${FAMILY[kind].map((r) => roleLabel(r)).join(' or ')} record`;
    throw new OpenctlError(
      all.length === 0
        ? `${fresh.source}: the current files have no ${LABEL[kind]} certificate to replace (looked for ${where})`
        : `${fresh.source}: ${all.length} ${LABEL[kind]} certificates in the current files and none with the new one's subject "${subject}": the regenerated certificate keeps its subject`,
    );
  }
  if (chosen.equals(fresh.certificate)) throw new OpenctlError(`${fresh.source}: this is the current ${LABEL[kind]} certificate, not a new one`);
  return chosen;
}

function roleLabel(role: number): string {
  return ({ 0: 'SAST', 1: 'CCM', 2: 'CCM+TFTP', 3: 'TFTP', 4: 'CAPF', 21: 'TVS' } as Record<number, string>)[role] ?? String(role);
}

function regenActions(kind: CertKind, signs: string[]): string[] {
  const signing = signs.length ? ` It signs the ${signs.join(' and the ')}: phones must trust the new certificate before it signs anything they download.` : '';
  switch (kind) {
    case 'capf':
      return [`Regenerate CAPF: \`set cert regen CAPF\` on the publisher (or OS Administration > Certificate Management).${signing}`, 'Restart Cisco Certificate Authority Proxy Function on the publisher.'];
    case 'tvs':
      return [`Regenerate TVS: \`set cert regen TVS\` on the node.${signing}`, 'Restart Cisco Trust Verification Service on that node.'];
    case 'itlrecovery':
      return [`Regenerate ITLRecovery: \`set cert regen ITLRecovery\` on the publisher.${signing}`];
    case 'callmanager':
      return [`Regenerate CallManager: \`set cert regen CallManager\` on the node.${signing}`, 'Restart Cisco CallManager (and Cisco HAProxy on 14 and later) on that node.'];
    case 'tftp':
      return [`Regenerate the TFTP node's CallManager certificate: \`set cert regen CallManager\` on the TFTP node.${signing}`, 'Restart Cisco CallManager on that node.'];
  }
}
