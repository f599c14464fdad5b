import type { Signer } from '../crypto/signer';
import { Role } from '../formats/model';
import { sameDn } from '../formats/dn';
import { certificateInfo } from '../crypto/certificate';
import { OpenctlError } from '../util/errors';
import { ClusterState, certOf, currentClusterState } from './cluster-state';
import { ctlUpdateAction, phoneHolding, resetActions, stepDir, type CommonInputs, type NewCertificate, type SignedListInput } from './common';
import type { Plan, PlanStep } from './model';

export interface ReimageInputs extends CommonInputs {
  ctl?: SignedListInput;
  itl: SignedListInput;
  configSigner: Signer;
  configSignerSource: string;
  /** The re-imaged TFTP node's new CallManager certificate and key: it signs configs (and, before 12.0, the ITL). */
  newTftp: NewCertificate;
  /** A new ITLRecovery (re-imaged publisher without its backup); default: unchanged, or newTftp when it signed the ITL. */
  newItlSigner?: NewCertificate;
  newTvs?: NewCertificate;
  newCapf?: NewCertificate;
  /** Skip the rollback ITL and rely on TVS alone (often refused: that is the point of checking). */
  withoutRollback: boolean;
}

/**
 * Re-imaging a TFTP server without its keys: everything it signs changes at once. The safe way has the old
 * server serve the rollback ITL before the re-image, so that phones accept whatever the new server signs, and
 * turns rollback off once phones hold the new server's ITL.
 */
export async function planReimage(inputs: ReimageInputs): Promise<Plan> {
  const before = currentClusterState(inputs);
  if (!inputs.newTftp.signer) throw new OpenctlError(`${inputs.newTftp.source}: the new TFTP certificate signs configs: give its key too (PEM with key and certificate, or a pkcs11: URI)`);
  const mixed = !!before.ctl;

  const after = before.clone();
  const oldTftp = Buffer.from(inputs.configSigner.certificate);
  const oldItlSigner = Buffer.from(inputs.itl.signer.certificate);
  const itlSignedByTftp = oldTftp.equals(oldItlSigner);
  after.replaceCertificate(oldTftp, inputs.newTftp.certificate);
  after.configSigner = inputs.newTftp.signer;
  const newItl = inputs.newItlSigner ?? (itlSignedByTftp ? inputs.newTftp : undefined);
  if (newItl) {
    if (!newItl.signer) throw new OpenctlError(`${newItl.source}: the new ITL signer must come with its key`);
    if (!itlSignedByTftp) after.replaceCertificate(oldItlSigner, newItl.certificate);
    after.itl.signer = newItl.signer;
  }
  if (after.ctl && Buffer.from(after.ctl.signer.certificate).equals(oldTftp)) {
    throw new OpenctlError(`${inputs.ctl!.signerSource}: the CTL is signed by the TFTP node's CallManager key, which the re-image loses: sign the CTL with a SAST token (or ITLRecovery) instead`);
  }
  for (const [fresh, role] of [
    [inputs.newTvs, Role.TVS],
    [inputs.newCapf, Role.CAPF],
  ] as const) {
    if (!fresh) continue;
    const old = oldOfRole(before, role, fresh);
    after.replaceCertificate(old, fresh.certificate);
  }

  const steps: PlanStep[] = [];
  let ts = inputs.timestamp;
  const reimageActions = [
    'Back up what can be kept (DRS), re-image the TFTP server and restore it; its CallManager key is new.',
    ...(newItl && !itlSignedByTftp ? ['The publisher\'s ITLRecovery key is new too.'] : []),
    ...(mixed ? [ctlUpdateAction('Update the CTL with the new certificates, signed by a SAST token', 'a SAST token of the current CTL')] : []),
  ];
  if (inputs.withoutRollback) {
    steps.push({
      dir: stepDir(1, 'reimage-tftp-server'),
      title: 'Re-image the TFTP server (no rollback ITL: phones rely on TVS)',
      actions: [...reimageActions, ...resetActions(mixed)],
      files: await after.build(ts),
      tvs: after.tvs(),
    });
  } else {
    steps.push({
      dir: stepDir(1, 'rollback-itl-before-reimage'),
      title: 'Before the re-image: serve the rollback ITL',
      actions: [
        'System > Enterprise Parameters > Security Parameters > "Prepare Cluster for Rollback to pre 8.0" = True.',
        'Restart Cisco TFTP on every TFTP node and Cisco Trust Verification Service on every node.',
        'Reset the phones and wait until every one holds the rollback ITL (this folder\'s ITLFile.tlv).',
      ],
      files: await before.build(ts, { rollback: true }),
      tvs: before.tvs(),
    });
    ts += 1;
    steps.push({
      dir: stepDir(2, 'reimage-tftp-server'),
      title: 'Re-image the TFTP server (rollback still on)',
      actions: [...reimageActions, 'Keep "Prepare Cluster for Rollback to pre 8.0" = True.', ...resetActions(mixed)],
      files: await after.build(ts, { rollback: true }),
      tvs: after.tvs(),
    });
    ts += 1;
    steps.push({
      dir: stepDir(3, 'rollback-off'),
      title: 'Turn rollback off: the new server\'s ITL',
      actions: ['Set "Prepare Cluster for Rollback to pre 8.0" = False.', ...resetActions(mixed)],
      files: await after.build(ts),
      tvs: after.tvs(),
    });
  }
  const notes = [
    'One ITL is modelled (the re-imaged TFTP server\'s); phones registered to other TFTP servers need the same check.',
    ...(inputs.sbd ? [] : ['Checked for phones without Security by Default (7940/7960): they cannot ask TVS.']),
  ];
  return {
    procedure: 'reimage',
    summary: `Re-image the TFTP server (new TFTP key${newItl && !itlSignedByTftp ? ', new ITLRecovery' : ''}${inputs.newTvs ? ', new TVS' : ''}${inputs.newCapf ? ', new CAPF' : ''})${inputs.withoutRollback ? ' without the rollback ITL' : ' behind the rollback ITL'}`,
    initial: phoneHolding(inputs.ctl, inputs.itl, inputs.sbd),
    steps,
    violations: [],
    notes,
  };
}

function oldOfRole(state: ClusterState, role: number, fresh: NewCertificate): Buffer {
  const subject = certificateInfo(fresh.certificate).subject;
  const certs = new Map<string, Buffer>();
  for (const l of state.lists()) for (const r of l.records) {
    const c = certOf(r);
    if (c && r.role === role) certs.set(c.toString('base64'), c);
  }
  const all = [...certs.values()];
  const match = all.filter((c) => sameDn(certificateInfo(c).subject, subject));
  const chosen = match.length === 1 ? match[0] : all.length === 1 ? all[0] : undefined;
  if (!chosen) throw new OpenctlError(`${fresh.source}: cannot tell which ${role === Role.TVS ? 'TVS' : 'CAPF'} certificate it replaces (${all.length} in the current files, none with subject "${subject}")`);
  return chosen;
}
