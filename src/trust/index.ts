/**
 * The phone trust model: what a phone holds, the rules it applies to each file it downloads, and what it holds
 * afterwards. Pure: parsed files in, verdicts out; no file system, no network, no token.
 */
export * from './model';
export { RULES, ruleText, type RuleId } from './rules';
export { evaluateFile, summarizeHolding, tvsReachable, type EvaluateOptions, type Evaluation } from './evaluate';
export { preflight, preflightFleet, downloadOrder, type PreflightResult, type FleetGroup, type FleetResult, type VerdictCounts } from './preflight';
export { warningsFor, EXPIRY_WARNING_DAYS, ITL_WARNING_BYTES, ITL_LIMIT_BYTES } from './warnings';
export { diffTrustLists, type TrustListDiff, type RecordView, type RecordChange, type DiffInput } from './diff';
export { isRollbackItl, TRUST_LIST_SIGNER_ROLES } from './records';
export { renderPreflight, renderFleet, renderDiff, renderVerdict, renderHolding, renderTvs } from './render';
