/**
 * The rules phones apply (formats.md, "Rules that phones apply"), one stable id each. Ids are part of the JSON
 * output and of the tests: never rename one; add a new id instead.
 */
export const RULES = {
  'first-trust-list':
    'A phone that holds no CTL and no ITL accepts the first trust list it is given (if its signature verifies against its own signer record).',
  'ctl-signed-by-held-sast':
    'A phone that holds a CTL accepts a new CTL signed by a SAST certificate of the CTL it holds.',
  'ctl-signer-not-in-held-ctl':
    'A phone that holds a CTL rejects a new CTL whose signer is not a SAST certificate of the CTL it holds; only deleting the CTL on the phone recovers it.',
  'ctl-signer-in-held-itl':
    'A phone that holds only an ITL accepts a first CTL signed by a certificate of its ITL (SAST, CallManager or TFTP).',
  'ctl-signer-via-tvs':
    'A phone that holds only an ITL asks TVS about a first CTL signed by a certificate it does not hold.',
  'ctl-signer-unknown':
    'A phone that holds only an ITL rejects a CTL signed by a certificate that neither its ITL nor TVS vouches for.',
  'itl-signer-in-held-ctl':
    'A phone that holds a CTL accepts an ITL signed by a certificate of that CTL (SAST such as ITLRecovery, CallManager, CCM+TFTP or TFTP).',
  'itl-signer-not-in-held-ctl':
    'A phone that holds a CTL rejects an ITL whose signer is not a SAST, CallManager or TFTP certificate of that CTL.',
  'itl-signed-by-held-itl-sast':
    'A phone that holds only an ITL accepts a new ITL signed by a SAST certificate of the ITL it holds.',
  'itl-signer-via-tvs':
    'A phone that holds only an ITL asks TVS about a new ITL signed by a certificate it does not hold, and accepts it when TVS vouches for it.',
  'itl-signer-unknown':
    'A phone that holds only an ITL rejects a new ITL signed by a certificate that neither its ITL nor TVS vouches for.',
  'rollback-itl-accepts-any':
    'A phone that holds the rollback ITL (empty TVS and TFTP sections) accepts any new ITL and any config, signed or not.',
  'config-nothing-held':
    'A phone that holds no CTL and no ITL does not check config signatures.',
  'config-signed-by-tftp-record':
    'A phone accepts a config signed by a TFTP-capable certificate (TFTP, CCM+TFTP) of its CTL or ITL.',
  'config-signer-via-tvs':
    'A phone asks a TVS listed in its ITL about a config signed by a certificate it does not hold, and accepts it when TVS vouches for it as a TFTP certificate.',
  'config-signer-not-tftp-capable':
    'A phone rejects a config whose signer it holds only in a role that cannot sign configs (CAPF, TVS, SAST, CCM...).',
  'config-signer-unknown':
    'A phone rejects a config signed by a certificate that neither its CTL, its ITL nor TVS vouches for.',
  'unsigned-config-refused':
    'A phone that holds a CTL or an ITL (other than the rollback ITL) rejects an unsigned config.',
  'no-sbd-signer-change':
    'A phone without Security by Default (7940/7960 and older) cannot ask TVS: a file from a signer it does not hold is rejected, and the CTL must be deleted on each phone by hand.',
  'signature-invalid':
    'A file whose signature does not verify with the certificate that should vouch for it is rejected.',
  'signer-record-missing':
    'A trust list whose header names a signer that has no certificate record in the list cannot be checked and is rejected by a phone that holds nothing.',
} as const;

export type RuleId = keyof typeof RULES;

export function ruleText(rule: RuleId): string {
  return RULES[rule];
}
