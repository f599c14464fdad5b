/** Procedures (certificate regeneration, cluster moves, re-images, rollback) as checked, ordered file sets. */
export * from './model';
export { checkPlan, INITIAL_DIR } from './check';
export { ClusterState, listState, buildListFile, type ListState, type ConfigSource } from './cluster-state';
export { SAMPLE_CONFIG, type ListInput, type SignedListInput, type NewCertificate, type CommonInputs } from './common';
export { planRegenerate, parseOrder, CERT_KINDS, DEFAULT_ORDER, type CertKind, type RegenerateInputs } from './regenerate';
export { planMoveCluster, MOVE_METHODS, type MoveMethod, type MoveClusterInputs } from './move-cluster';
export { planReimage, type ReimageInputs } from './reimage';
export { planRollback, type RollbackInputs } from './rollback';
export { planRecovery, renderRecovery, DELETE_TRUST_LIST_STEPS, type RecoverInputs, type RecoveryReport, type RecoveryOption, type HeldKey } from './recover';
export { writePlan, renderPlan, planJson, type PlanJson } from './output';
export * from './fields';
export {
  buildPlan,
  fileHoldsKey,
  type PlanInputHost,
  type PlanRequest,
  type PlanCommonRequest,
  type CurrentRequest,
  type RegenerateRequest,
  type MoveClusterRequest,
  type ReimageRequest,
  type RollbackRequest,
} from './request';
