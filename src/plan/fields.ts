/**
 * The named inputs of the plan procedures, declared once: the CLI names them as options (`--itl-signer`), the
 * GUI's Rollout plan wizard as form labels, and both report a missing or wrong input under that name.
 *
 * Pure data: the renderer bundle imports this module.
 */
export const PLAN_PROCEDURES = ['regenerate', 'move-cluster', 'reimage', 'rollback'] as const;
export type PlanProcedure = (typeof PLAN_PROCEDURES)[number];

export interface PlanFieldSpec {
  /** The CLI option. */
  option: string;
  /** The GUI label. */
  label: string;
  /** What is expected: a trust list (path or tftp:// / http:// URL), a key that signs, or a certificate (with its key when it must sign). */
  kind: 'itl' | 'ctl' | 'signer' | 'certificate' | 'configs' | 'text';
}

export const PLAN_FIELDS = {
  itl: { option: '--itl', label: 'ITL the phones hold now', kind: 'itl' },
  ctl: { option: '--ctl', label: 'CTL the phones hold now (mixed mode)', kind: 'ctl' },
  itlSigner: { option: '--itl-signer', label: 'Key that signs the ITL now', kind: 'signer' },
  ctlSigner: { option: '--ctl-signer', label: 'SAST key of the current CTL', kind: 'signer' },
  configSigner: { option: '--config-signer', label: 'Key that signs configs now', kind: 'signer' },
  configs: { option: '--config', label: 'Plain configs to sign at every step', kind: 'configs' },
  certs: { option: '--cert', label: 'Certificates to regenerate', kind: 'text' },
  order: { option: '--order', label: 'Order of the steps', kind: 'text' },
  method: { option: '--method', label: 'Method', kind: 'text' },
  fromItl: { option: '--from-itl', label: 'ITL the phones hold now (cluster A)', kind: 'itl' },
  fromCtl: { option: '--from-ctl', label: 'CTL the phones hold now (cluster A)', kind: 'ctl' },
  fromItlSigner: { option: '--from-itl-signer', label: "Cluster A's ITL signer", kind: 'signer' },
  toItl: { option: '--to-itl', label: 'ITL cluster B serves', kind: 'itl' },
  toCtl: { option: '--to-ctl', label: 'CTL cluster B serves', kind: 'ctl' },
  toCtlSigner: { option: '--to-ctl-signer', label: "SAST key listed in cluster A's CTL, to sign B's CTL", kind: 'signer' },
  toConfigSigner: { option: '--to-config-signer', label: "Key that signs cluster B's configs", kind: 'signer' },
  newCapf: { option: '--new-capf', label: 'New CAPF certificate', kind: 'certificate' },
  newTvs: { option: '--new-tvs', label: 'New TVS certificate', kind: 'certificate' },
  newCallmanager: { option: '--new-callmanager', label: 'New CallManager certificate', kind: 'certificate' },
  newTftp: { option: '--new-tftp', label: 'New TFTP certificate and key', kind: 'certificate' },
  newItlrecovery: { option: '--new-itlrecovery', label: 'New ITLRecovery certificate and key', kind: 'certificate' },
  newItlSigner: { option: '--new-itl-signer', label: 'New ITLRecovery certificate and key', kind: 'certificate' },
  nextItlSigner: { option: '--next-itl-signer', label: 'Key that signs the ITL after the rollback', kind: 'certificate' },
  nextConfigSigner: { option: '--next-config-signer', label: 'Key that signs configs after the rollback', kind: 'certificate' },
} as const satisfies Record<string, PlanFieldSpec>;

export type PlanField = keyof typeof PLAN_FIELDS;

/** The certificate kinds `plan regenerate` takes, in the safe default order (TFTP last). */
export const REGENERATE_KINDS = ['capf', 'tvs', 'itlrecovery', 'callmanager', 'tftp'] as const;
export type RegenerateKind = (typeof REGENERATE_KINDS)[number];

/** Each kind as CUCM's Certificate Management names it (plan titles, messages, the wizard's checkboxes). */
export const REGENERATE_KIND_LABEL: Record<RegenerateKind, string> = {
  capf: 'CAPF',
  tvs: 'TVS',
  itlrecovery: 'ITLRecovery',
  callmanager: 'CallManager',
  tftp: 'TFTP (the CallManager certificate of the TFTP node)',
};

/** The field that gives a regenerated certificate of each kind. */
export const NEW_CERT_FIELD: Record<RegenerateKind, PlanField> = {
  capf: 'newCapf',
  tvs: 'newTvs',
  itlrecovery: 'newItlrecovery',
  callmanager: 'newCallmanager',
  tftp: 'newTftp',
};

export const MOVE_CLUSTER_METHODS = ['rollback', 'certificates', 'shared-sast'] as const;
export type MoveClusterMethod = (typeof MOVE_CLUSTER_METHODS)[number];

/**
 * Each move method in the words of its first plan step (the step's title is this text): which cluster's TVS
 * learns which certificates, or which file changes first. The GUI's method choices use the same words.
 */
export const MOVE_CLUSTER_METHOD_TITLE: Record<MoveClusterMethod, string> = {
  rollback: 'Cluster A serves the rollback ITL',
  certificates: "Cluster A's TVS learns cluster B's certificates",
  'shared-sast': 'Cluster B serves a CTL signed by the shared token; move the phones',
};
