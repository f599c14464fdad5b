import type { Signer } from '../crypto/signer';
import { OpenctlError } from '../util/errors';
import { currentClusterState } from './cluster-state';
import { phoneHolding, stepDir, type CommonInputs, type NewCertificate, type SignedListInput } from './common';
import type { Plan, PlanStep } from './model';

export interface RollbackInputs extends CommonInputs {
  ctl?: SignedListInput;
  itl: SignedListInput;
  configSigner: Signer;
  configSignerSource: string;
  /** The signer of the ITL phones get after the rollback (a new cluster or release); optional third step. */
  nextItlSigner?: NewCertificate;
  /** The key that signs configs afterwards (default: the current one). */
  nextConfigSigner?: NewCertificate;
}

/**
 * The rollback ITL ("Prepare Cluster for Rollback to pre 8.0"): phones that hold it accept any config, signed or
 * not, and any new ITL. Step 1 serves it; step 2 is the rolled-back cluster (unsigned configs, no ITL); step 3,
 * when a next signer is given, is the new ITL the phones will accept from a cluster they never trusted.
 */
export async function planRollback(inputs: RollbackInputs): Promise<Plan> {
  const state = currentClusterState(inputs);
  const mixed = !!state.ctl;
  const steps: PlanStep[] = [];
  let ts = inputs.timestamp;

  steps.push({
    dir: stepDir(1, 'serve-rollback-itl'),
    title: 'Serve the rollback ITL',
    actions: [
      'System > Enterprise Parameters > Security Parameters > "Prepare Cluster for Rollback to pre 8.0" = True.',
      'Restart Cisco TFTP on every TFTP node and Cisco Trust Verification Service on every node.',
      'Reset the phones and wait until every one holds the rollback ITL (this folder\'s ITLFile.tlv): check with `openctl fetch` and `openctl preflight`.',
    ],
    files: await state.build(ts, { rollback: true }),
    tvs: state.tvs(),
  });
  ts += 1;

  const rolledBack = state.clone();
  rolledBack.unsignedConfigs = true;
  const files = (await rolledBack.build(ts)).filter((f) => f.parsed?.kind !== 'itl');
  steps.push({
    dir: stepDir(2, 'rolled-back'),
    title: 'Roll back (the cluster serves unsigned configs and no ITL)',
    actions: [
      'Switch the cluster to the inactive (pre-8.0) partition, or move the phones; it serves configs unsigned.',
      'Reset the phones: they keep the rollback ITL and accept the unsigned configs.',
    ],
    files,
    tvs: { knows: [] },
  });
  ts += 1;

  if (inputs.nextItlSigner) {
    const next = state.clone();
    const nextSigner = inputs.nextItlSigner;
    if (!nextSigner.signer) throw new OpenctlError(`${nextSigner.source}: the next ITL signer must come with its key`);
    next.replaceCertificate(Buffer.from(inputs.itl.signer.certificate), nextSigner.certificate);
    next.itl.signer = nextSigner.signer;
    if (inputs.nextConfigSigner) {
      if (!inputs.nextConfigSigner.signer) throw new OpenctlError(`${inputs.nextConfigSigner.source}: the next config signer must come with its key`);
      const old = Buffer.from(inputs.configSigner.certificate);
      if (!old.equals(Buffer.from(inputs.itl.signer.certificate))) next.replaceCertificate(old, inputs.nextConfigSigner.certificate);
      else if (!inputs.nextConfigSigner.certificate.equals(nextSigner.certificate)) {
        throw new OpenctlError(`${inputs.nextConfigSigner.source}: the ITL and configs were signed by one key; give the same key as --next-itl-signer`);
      }
      next.configSigner = inputs.nextConfigSigner.signer;
    } else if (Buffer.from(inputs.configSigner.certificate).equals(Buffer.from(inputs.itl.signer.certificate))) {
      next.configSigner = nextSigner.signer;
    }
    steps.push({
      dir: stepDir(3, 'new-itl'),
      title: 'The new ITL (phones holding the rollback ITL accept it)',
      actions: [
        'Bring up the new cluster or release; it serves this folder\'s ITLFile.tlv and signed configs.',
        ...(mixed ? ['The CTL is unchanged: phones accept a new CTL only when a SAST token of the old one signs it.'] : []),
        'Reset the phones and wait until every one has registered; then set "Prepare Cluster for Rollback to pre 8.0" = False where it is still True.',
      ],
      files: await next.build(ts),
      tvs: next.tvs(),
    });
  }
  return {
    procedure: 'rollback',
    summary: `Serve the rollback ITL, roll back${inputs.nextItlSigner ? ', then a new ITL' : ''}`,
    initial: phoneHolding(inputs.ctl, inputs.itl, inputs.sbd),
    steps,
    violations: [],
    notes: inputs.sbd ? [] : ['Checked for phones without Security by Default (7940/7960).'],
  };
}
