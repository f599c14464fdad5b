import type { Signer } from '../crypto/signer';
import { buildSignedFile, parseFile } from '../formats';
import { Role } from '../formats/model';
import { OpenctlError } from '../util/errors';
import type { PhoneFile, TvsCertificate, TvsModel } from '../trust';
import { buildListFile, listState, certOf, type ConfigSource } from './cluster-state';
import { checkListSigner, ctlUpdateAction, phoneHolding, stepDir, type CommonInputs, type ListInput, type SignedListInput } from './common';
import type { Plan, PlanStep } from './model';
import type { HashAlgorithm } from '../crypto/hash';

export { MOVE_CLUSTER_METHODS as MOVE_METHODS, type MoveClusterMethod as MoveMethod } from './fields';
import { MOVE_CLUSTER_METHOD_TITLE, type MoveClusterMethod as MoveMethod } from './fields';

export interface MoveClusterInputs extends CommonInputs {
  method: MoveMethod;
  /** Cluster A: what the phones hold and what A serves now. */
  fromCtl?: ListInput;
  fromItl: ListInput;
  /** A's ITL signer: signs A's rollback ITL (method rollback). */
  fromItlSigner?: Signer;
  fromItlSignerSource?: string;
  /** Cluster B: what it serves; its CTL is re-signed with a shared token (method shared-sast). */
  toCtl?: ListInput;
  toItl: ListInput;
  /** A SAST token that A's CTL lists (method shared-sast). */
  toCtlSigner?: Signer;
  toConfigSigner: Signer;
}

/** What a cluster's TVS vouches for: every certificate of its lists; its service certificates are its TVS records. */
function clusterTvs(lists: Array<ListInput | undefined>, extra: TvsCertificate[] = []): TvsModel {
  const knows: TvsCertificate[] = [];
  const seen = new Set<string>();
  for (const l of lists) {
    for (const r of l?.list.records ?? []) {
      const c = certOf(r);
      if (!c || seen.has(c.toString('base64'))) continue;
      seen.add(c.toString('base64'));
      knows.push({ certificate: c });
    }
  }
  const itl = lists.find((l) => l?.list.kind === 'itl');
  const service = (itl?.list.records ?? []).filter((r) => r.role === Role.TVS).map(certOf).filter((c): c is Buffer => !!c);
  return { knows: [...knows, ...extra], serviceCertificates: service };
}

function asIs(input: ListInput): PhoneFile {
  return { name: input.name, bytes: input.list.bytes, parsed: input.list };
}

async function signConfigs(configs: ConfigSource[], signer: Signer, hash: HashAlgorithm, timestamp: number): Promise<PhoneFile[]> {
  const out: PhoneFile[] = [];
  for (const c of configs) {
    const name = `${c.name}.sgn`;
    const bytes = await buildSignedFile({ body: c.body, filename: name, signer, hash, timestamp });
    out.push({ name, bytes, parsed: parseFile(bytes, { file: name }) });
  }
  return out;
}

const MOVE_ACTIONS = [
  'Add the phones to cluster B (same device names), then point them at B\'s TFTP server (DHCP option 150 or the phone\'s alternate TFTP).',
  'Reset the phones and wait until every one has registered with cluster B.',
];

/**
 * Moving phones from cluster A to cluster B, whose files the phones do not trust yet. Three ways: A serves the
 * rollback ITL first; A's TVS learns B's certificates (bulk certificate export/import); or both CTLs share a
 * SAST token (mixed mode).
 */
export async function planMoveCluster(inputs: MoveClusterInputs): Promise<Plan> {
  const steps: PlanStep[] = [];
  const notes: string[] = [];
  let ts = inputs.timestamp;
  const bConfigs = async () => signConfigs(inputs.configs, inputs.toConfigSigner, inputs.configHash, ts);
  const bFiles = async (ctl?: PhoneFile): Promise<PhoneFile[]> => [
    ...(ctl ? [ctl] : inputs.toCtl ? [asIs(inputs.toCtl)] : []),
    asIs(inputs.toItl),
    ...(await bConfigs()),
  ];

  if (inputs.method === 'rollback') {
    if (!inputs.fromItlSigner) throw new OpenctlError('--method rollback: give --from-itl-signer (the key that signs cluster A\'s ITL) to build A\'s rollback ITL');
    const signed: SignedListInput = { ...inputs.fromItl, signer: inputs.fromItlSigner, signerSource: inputs.fromItlSignerSource ?? '--from-itl-signer' };
    checkListSigner(signed);
    const a = listState(inputs.fromItl.list, inputs.fromItlSigner);
    const rollback = { ...a, records: a.records.filter((r) => r.role === Role.SAST || r.role === Role.CAPF) };
    const rollbackItl = await buildListFile(rollback, a.signer, ts);
    steps.push({
      dir: stepDir(1, 'cluster-a-serves-rollback-itl'),
      title: MOVE_CLUSTER_METHOD_TITLE.rollback,
      actions: [
        'On cluster A: System > Enterprise Parameters > Security Parameters > "Prepare Cluster for Rollback to pre 8.0" = True.',
        'Restart Cisco TFTP on every TFTP node and Cisco Trust Verification Service on every node of cluster A.',
        'Reset the phones and wait until every one has downloaded the rollback ITL (this folder\'s ITLFile.tlv).',
      ],
      files: [...(inputs.fromCtl ? [asIs(inputs.fromCtl)] : []), { ...rollbackItl, name: inputs.fromItl.name }],
      tvs: clusterTvs([inputs.fromCtl, inputs.fromItl]),
    });
    ts += 1;
    steps.push({
      dir: stepDir(2, 'move-phones-to-cluster-b'),
      title: 'Move the phones to cluster B',
      actions: [...MOVE_ACTIONS, 'On cluster A, set "Prepare Cluster for Rollback to pre 8.0" back to False for the phones that stay.'],
      files: await bFiles(),
      tvs: clusterTvs([inputs.toCtl, inputs.toItl]),
    });
    if (inputs.fromCtl) notes.push('The phones hold a CTL from cluster A: the rollback ITL does not change CTL trust, so B\'s CTL must be signed by a SAST token of A\'s CTL (or the phones\' CTL deleted by hand).');
  } else if (inputs.method === 'certificates') {
    const imported: TvsCertificate[] = clusterTvs([inputs.toCtl, inputs.toItl]).knows.slice();
    const aTvs = clusterTvs([inputs.fromCtl, inputs.fromItl], imported);
    steps.push({
      dir: stepDir(1, 'import-cluster-b-certificates-into-a'),
      title: MOVE_CLUSTER_METHOD_TITLE.certificates,
      actions: [
        'On cluster B: OS Administration > Security > Bulk Certificate Management > Export (TFTP certificates: CallManager, ITLRecovery).',
        'On cluster A: Bulk Certificate Management > Import, then Consolidate; check that B\'s certificates appear in CallManager-trust and Phone-SAST-trust.',
        'Restart Cisco Trust Verification Service on every node of cluster A (A keeps serving its files unchanged).',
      ],
      files: [...(inputs.fromCtl ? [asIs(inputs.fromCtl)] : []), asIs(inputs.fromItl)],
      tvs: aTvs,
    });
    ts += 1;
    steps.push({
      dir: stepDir(2, 'move-phones-to-cluster-b'),
      title: 'Move the phones to cluster B',
      actions: [...MOVE_ACTIONS, 'Phones ask the TVS of cluster A (listed in the ITL they hold) about B\'s ITL signer.'],
      files: await bFiles(),
      tvs: aTvs,
    });
    if (inputs.fromCtl) notes.push('The phones hold a CTL from cluster A: TVS does not vouch for a new CTL, so B\'s CTL must be signed by a SAST token of A\'s CTL.');
  } else {
    if (!inputs.fromCtl) throw new OpenctlError('--method shared-sast: the phones must hold a CTL (give --from-ctl); without one, use --method certificates or rollback');
    if (!inputs.toCtl) throw new OpenctlError('--method shared-sast: give cluster B\'s current CTL with --to-ctl (its records are re-signed with the shared token)');
    if (!inputs.toCtlSigner) throw new OpenctlError('--method shared-sast: give --to-ctl-signer, a SAST token that cluster A\'s CTL lists');
    const b = listState(inputs.toCtl.list, inputs.toCtlSigner);
    const ctl: PhoneFile = { ...(await buildListFile(b, inputs.toCtlSigner, ts)), name: inputs.toCtl.name };
    steps.push({
      dir: stepDir(1, 'move-phones-to-cluster-b'),
      title: MOVE_CLUSTER_METHOD_TITLE['shared-sast'],
      actions: [
        ctlUpdateAction('On cluster B: serve a CTL signed by the SAST token both clusters list (it is this step\'s CTLFile.tlv), then restart Cisco TFTP and Cisco CallManager on every node of B', 'that shared token'),
        ...MOVE_ACTIONS,
      ],
      files: await bFiles(ctl),
      tvs: clusterTvs([inputs.toCtl, inputs.toItl]),
    });
  }
  if (!inputs.sbd) notes.push('Checked for phones without Security by Default (7940/7960): they cannot ask TVS.');
  return {
    procedure: 'move-cluster',
    summary: `Move phones from cluster A to cluster B (${inputs.method})`,
    initial: phoneHolding(inputs.fromCtl, inputs.fromItl, inputs.sbd),
    steps,
    violations: [],
    notes,
  };
}
