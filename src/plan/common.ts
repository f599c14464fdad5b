import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import type { TrustList } from '../formats/model';
import { recordMatchesSigner } from '../crypto/verify';
import { OpenctlError } from '../util/errors';
import type { PhoneTrust } from '../trust';
import type { ConfigSource } from './cluster-state';

/** A trust list given to a plan: its parsed content, the name it is served under, and (when needed) its signer. */
export interface ListInput {
  name: string;
  list: TrustList;
  /** The option that named it, for errors. */
  source: string;
}

export interface SignedListInput extends ListInput {
  signer: Signer;
  signerSource: string;
}

/** A new certificate, with its key when it must sign something. */
export interface NewCertificate {
  certificate: Buffer;
  signer?: Signer;
  source: string;
}

export interface CommonInputs {
  configs: ConfigSource[];
  configHash: HashAlgorithm;
  /** Phones with Security by Default (true) or 7940/7960-style phones without it. */
  sbd: boolean;
  /** Header timestamp of step 1's files; later steps add one second per step. */
  timestamp: number;
}

/** The sample config a plan signs when none is given: it stands for every phone's config. */
export const SAMPLE_CONFIG: ConfigSource = {
  name: 'SEP000000000000.cnf.xml',
  body: Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<device xsi:type="axl:XIPPhone" ctiid="0">\n  <fullConfig>true</fullConfig>\n  <!-- openctl plan: a sample config standing for every phone\'s config -->\n</device>\n',
  ),
};

export function stepDir(index: number, slug: string): string {
  return `${String(index).padStart(2, '0')}-${slug.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase()}`;
}

export function phoneHolding(ctl: ListInput | undefined, itl: ListInput | undefined, sbd: boolean): PhoneTrust {
  return {
    sbd,
    ...(ctl ? { ctl: { name: ctl.name, list: ctl.list } } : {}),
    ...(itl ? { itl: { name: itl.name, list: itl.list } } : {}),
  };
}

/** The signer given for a list must be the certificate that signed it (the plan re-signs with it). */
export function checkListSigner(input: SignedListInput): void {
  const record = input.list.records.find((r) => r.certificate && Buffer.from(input.signer.certificate).equals(r.certificate));
  if (input.list.kind === 'itl') {
    const sameAsHeader = record && recordMatchesSigner(record, input.list);
    if (!sameAsHeader) {
      throw new OpenctlError(
        `${input.signerSource}: this is not the certificate that signed ${input.source} ("${input.list.header.signer.subject}"): the ITL's next version must be signed by the same key`,
      );
    }
    return;
  }
  if (!record || record.role !== 0) {
    throw new OpenctlError(`${input.signerSource}: its certificate is not a SAST record of ${input.source}: phones would reject a CTL it signs`);
  }
}

/**
 * How a new CTL reaches the phones (README, "Where the files go"). CUCM builds and serves its own CTLFile.tlv from
 * the certificates it holds; openctl cannot hand it a CTL (the CTL Provider's port-2444 protocol of the Windows CTL
 * Client is not public). Another TFTP server serves the file of the step's folder.
 */
export function ctlUpdateAction(what: string, signedBy: string): string {
  return (
    `${what}. On CUCM: upload the new certificates (Cisco Unified OS Administration > Security > Certificate Management), then ` +
    `\`utils ctl update CTLFile\` on the publisher (tokenless), or the Windows CTL Client with ${signedBy} (token-based); ` +
    "check what CUCM then serves against this step's CTLFile.tlv (`openctl fetch`, `openctl diff`). " +
    `Another TFTP server: copy this step's CTLFile.tlv (openctl ctl build --update with ${signedBy}) into its TFTP root.`
  );
}

/** Standard closing actions after files change on the TFTP server (formats.md). */
export function resetActions(mixedMode: boolean): string[] {
  return [
    mixedMode
      ? 'Restart Cisco TFTP and Cisco CallManager on every node that runs them (the CTL changed); another TFTP server: copy this step\'s files into its TFTP root.'
      : 'Restart Cisco TFTP on every TFTP node so that it rebuilds and serves the new ITL; another TFTP server: copy this step\'s ITLFile.tlv and configs into its TFTP root.',
    'Reset the phones (Device > Phone > select all > Reset), and wait until every phone has registered again.',
    'Check before the next step: `openctl fetch TFTP_HOST --mac MAC` then `openctl preflight` against what the phones hold.',
  ];
}
