import { Role, TFTP_CAPABLE_ROLES } from '../formats/model';
import { roleName } from '../formats/roles';
import { holdsIn } from '../builder/set-check';
import {
  isRollbackItl,
  preflight,
  summarizeHolding,
  tvsReachable,
  TRUST_LIST_SIGNER_ROLES,
  type FileVerdict,
  type HoldingSummary,
  type PhoneFile,
  type PhoneTrust,
  type TvsModel,
} from '../trust';
import { describeRecord } from '../trust/records';
import type { VouchingRecord } from '../trust/model';

/**
 * `openctl plan recover`: phones already reject what the TFTP server serves. What can the admin still sign that
 * they accept (a SAST token of the CTL they hold, the ITLRecovery key of the ITL they hold, a certificate TVS
 * vouches for), and when nothing is left, the steps to delete the trust list on each phone. Pure: the CLI reads
 * the files and certificates, this decides.
 */

export interface HeldKey {
  /** How the admin named it (a file, a pkcs11: URI): repeated in the commands. */
  source: string;
  certificate: Buffer;
}

export interface RecoverInputs {
  phone: PhoneTrust;
  /** Certificates of the keys the admin still holds (tokens, ITLRecovery, CallManager...). */
  have: readonly HeldKey[];
  tvs: TvsModel;
  /** What the TFTP server serves now (the files phones reject), to say why. */
  serves?: readonly PhoneFile[];
}

export type RecoveryTarget = 'ctl' | 'itl' | 'config';

export interface RecoveryOption {
  target: RecoveryTarget;
  key: string;
  /** Why phones accept what this key signs. */
  why: string;
  commands: string[];
}

export interface RecoveryReport {
  holds: HoldingSummary;
  /** Verdicts on what the TFTP server serves now, for phones holding `holds`. */
  serves?: FileVerdict[];
  /** Records of the held lists whose keys would sign something phones accept (what to look for). */
  wanted: { ctl: VouchingRecord[]; itl: VouchingRecord[] };
  options: RecoveryOption[];
  /** Phones hold the rollback ITL: they accept any config and any new ITL. */
  rollbackHeld: boolean;
  /** Nothing the admin holds can sign a list phones accept: only deleting the trust list on each phone is left. */
  lockedOut: boolean;
  /** What phones can no longer be given, and why. */
  stuck: string[];
  /** Steps on CUCM, the TFTP server and each phone, in order. */
  steps: string[];
  notes: string[];
}

/** Where a phone's trust lists are deleted, by model family (Cisco's phone administration guides). */
export const DELETE_TRUST_LIST_STEPS: readonly string[] = [
  'Cisco IP Phone 7800 and 8800 series: Applications (or Settings) > Admin Settings > Reset Settings > Security Settings: the phone erases its CTL and ITL and restarts.',
  'Cisco IP Phone 7900 series (7941/7942/7945/7961/7962/7965/7970/7971/7975) and 8900/9900: Settings > Security Configuration > Trust List (CTL File, ITL File); press **# to unlock the settings, then Erase (or Delete), and let the phone restart.',
  'Cisco IP Phone 7940/7960: Settings > Security Configuration > CTL File; press **# to unlock, then Erase.',
  'Any model, when the menus are locked or unknown: a factory reset erases the trust lists with everything else (power on holding #, then key in 123456789*0#).',
];

function listName(phone: PhoneTrust, kind: 'ctl' | 'itl'): string {
  return phone[kind]?.name ?? (kind === 'ctl' ? 'CTLFile.tlv' : 'ITLFile.tlv');
}

function recordsIn(list: PhoneTrust['ctl'], roles: readonly number[], source: 'held-ctl' | 'held-itl'): VouchingRecord[] {
  if (!list) return [];
  return list.list.records.filter((r) => r.certificate && r.role !== undefined && roles.includes(r.role)).map((r) => describeRecord(r, source));
}

function roleIn(list: PhoneTrust['ctl'], certificate: Buffer, roles: readonly number[]): string | undefined {
  if (!list) return undefined;
  const record = list.list.records.find((r) => r.role !== undefined && roles.includes(r.role) && r.certificate?.equals(certificate));
  if (record?.role !== undefined) return roleName(record.role);
  return holdsIn(list.list, certificate, roles) ? 'a signer record' : undefined;
}

export function planRecovery(inputs: RecoverInputs): RecoveryReport {
  const { phone, have, tvs } = inputs;
  const ctlName = listName(phone, 'ctl');
  const itlName = listName(phone, 'itl');
  const rollbackHeld = !!phone.itl && isRollbackItl(phone.itl.list);
  const options: RecoveryOption[] = [];
  const notes: string[] = [];
  const phoneHas = [phone.ctl ? `--phone-has ${ctlName}` : '', phone.itl ? `--phone-has ${itlName}` : ''].filter(Boolean).join(' ');

  for (const key of have) {
    if (phone.ctl) {
      const sast = roleIn(phone.ctl, key.certificate, [Role.SAST]);
      if (sast) {
        options.push({
          target: 'ctl',
          key: key.source,
          why: `a SAST record of the CTL phones hold (${ctlName}): they accept a new CTL it signs`,
          commands: [
            `openctl ctl build --update ${ctlName} --signer ${key.source} [--sast ... --ccm-tftp ... --remove ...] --out CTLFile.tlv`,
            `openctl preflight ${phoneHas} --deploy CTLFile.tlv [--deploy ITLFile.tlv]`,
          ],
        });
      }
      const role = roleIn(phone.ctl, key.certificate, TRUST_LIST_SIGNER_ROLES);
      if (role) {
        options.push({
          target: 'itl',
          key: key.source,
          why: `in the CTL phones hold (${ctlName}) as ${role}: they accept an ITL it signs`,
          commands: [`openctl itl build --signer ${key.source} --ctl ${ctlName} --ccm-tftp ... --tvs ... --capf ... --out ITLFile.tlv`],
        });
      }
    } else if (phone.itl && !rollbackHeld) {
      const sast = roleIn(phone.itl, key.certificate, [Role.SAST]);
      if (sast) {
        options.push({
          target: 'itl',
          key: key.source,
          why: `the SAST record (ITLRecovery) of the ITL phones hold (${itlName}): they accept a new ITL it signs`,
          commands: [
            `openctl itl build --signer ${key.source} --ccm-tftp ... --tvs ... --capf ... --out ITLFile.tlv   (or: openctl batch itl --cluster cluster.json --out itls, with this itlSigner)`,
            `openctl batch itl --cluster cluster.json --out itls --rollback   (the rollback ITL: phones then accept any ITL and any config)`,
            `openctl preflight ${phoneHas} --deploy ITLFile.tlv`,
          ],
        });
      } else if (tvsReachable(phone, tvs).ok && tvs.knows.some((k) => k.certificate.equals(key.certificate) && (!k.roles || k.roles.some((r) => TRUST_LIST_SIGNER_ROLES.includes(r))))) {
        options.push({
          target: 'itl',
          key: key.source,
          why: `TVS vouches for it, and phones with Security by Default ask TVS about an ITL signer they do not hold`,
          commands: [`openctl itl build --signer ${key.source} ... --out ITLFile.tlv`, `openctl preflight ${phoneHas} --tvs-knows CERT --deploy ITLFile.tlv`],
        });
      }
    }
    const tftp = roleIn(phone.ctl, key.certificate, TFTP_CAPABLE_ROLES) ?? roleIn(phone.itl, key.certificate, TFTP_CAPABLE_ROLES);
    if (tftp && (phone.ctl || phone.itl) && !rollbackHeld) {
      options.push({
        target: 'config',
        key: key.source,
        why: `a ${tftp} record of the lists phones hold: they accept configs it signs`,
        commands: [`openctl batch sign tftp-src --out out --signer ${key.source} --trust ${phone.ctl ? ctlName : itlName}`],
      });
    }
  }

  const has = (t: RecoveryTarget) => options.some((o) => o.target === t);
  const stuck: string[] = [];
  if (phone.ctl && !has('ctl')) {
    stuck.push(`no key given is a SAST of ${ctlName}: phones holding it accept no other CTL until it is deleted on the phone`);
  }
  if (phone.itl && !rollbackHeld && !has('itl') && !has('ctl')) {
    stuck.push(
      phone.ctl
        ? `no key given is a SAST, CCM, CCM+TFTP or TFTP record of ${ctlName}: phones accept no new ITL`
        : `no key given is the SAST (ITLRecovery) of ${itlName}${tvs.knows.length ? ' or vouched for by TVS' : ''}: phones accept no new ITL`,
    );
  }

  const served = inputs.serves?.length ? preflight(phone, inputs.serves, tvs).verdicts : undefined;
  const rejectedKinds = new Set((served ?? []).filter((v) => v.verdict === 'rejected').map((v) => v.kind));
  const stuckCtl = !!phone.ctl && !has('ctl');
  const stuckItl = !!phone.itl && !rollbackHeld && !has('itl') && !has('ctl');
  const stuckConfig = (!!phone.ctl || (!!phone.itl && !rollbackHeld)) && !has('config') && !has('ctl') && !has('itl');
  const lockedOut = served
    ? (rejectedKinds.has('ctl') && stuckCtl) || (rejectedKinds.has('itl') && stuckItl) || ([...rejectedKinds].some((k) => k !== 'ctl' && k !== 'itl') && stuckConfig)
    : stuckCtl || stuckItl;

  const steps: string[] = [];
  if (phone.ctl && !has('ctl')) {
    notes.push(`Phones that reject a new CTL keep the one they hold and accept it again: serving ${ctlName} itself is always safe, but changing it needs one of its SAST keys, or deleting it on every phone.`);
  }
  if (!phone.ctl && !phone.itl) {
    notes.push('The phones hold no CTL and no ITL: they accept the first CTL and ITL they download, and any config.');
  } else if (rollbackHeld) {
    notes.push(`The phones hold the rollback ITL (${itlName}): they accept any config, signed or not, and any new ITL. Serve the ITL they should keep now, with any ITL signer.`);
  } else if (lockedOut) {
    steps.push(
      'Only deleting the trust list on each phone is left: nothing you hold signs a list these phones accept.',
      'First make the TFTP server serve the CTL and ITL you want the phones to keep, signed with keys you hold (openctl ctl build / itl build, or on CUCM `utils ctl update CTLFile` and a TFTP restart): a phone without trust lists accepts the first ones it downloads, so check them with `openctl preflight --deploy CTLFile.tlv --deploy ITLFile.tlv` (no --phone-has: a phone that holds nothing).',
      'Then, on every phone that rejects the files, delete its trust list:',
      ...DELETE_TRUST_LIST_STEPS.map((s) => `  - ${s}`),
      'After the restart each phone downloads and keeps the served CTL and ITL; check with `openctl fetch TFTP_HOST --mac MAC` and `openctl preflight --phone-has CTLFile.tlv --phone-has ITLFile.tlv --deploy ...`.',
    );
  } else {
    if (has('ctl')) {
      steps.push(
        'Sign a new CTL with one of the keys listed above (it keeps the SAST records phones trust, and may list new ITL and config signers), put it on the TFTP server (see the README, "Where the files go"), restart Cisco TFTP and reset the phones. On CUCM with a tokenless CTL, `utils ctl reset localkey` on the publisher re-signs the CTL with the publisher\'s own key: check the result with `openctl fetch` and `openctl preflight` before resetting phones.',
      );
    }
    if (has('itl')) {
      steps.push(
        'Sign the ITL with one of the keys listed above and serve it; on CUCM, `utils itl reset localkey` (or `remotekey`) on the publisher serves an ITL signed by the ITLRecovery key for the same purpose. Then reset the phones (twice: the first reset fetches the recovery ITL).',
      );
    }
    if (!has('ctl') && has('itl') && phone.ctl) steps.push(`The CTL (${ctlName}) itself cannot change without one of its SAST keys: keep serving it as the phones hold it.`);
    if (has('config')) steps.push('Sign the configs with a TFTP-capable key the phones hold (listed above) until a new ITL or CTL lists the new one.');
    steps.push('Before serving anything, check it with the preflight command given for each key.');
  }
  return {
    holds: summarizeHolding(phone),
    ...(served ? { serves: served } : {}),
    wanted: {
      ctl: recordsIn(phone.ctl, [Role.SAST], 'held-ctl'),
      itl: phone.ctl ? recordsIn(phone.ctl, TRUST_LIST_SIGNER_ROLES, 'held-ctl') : recordsIn(phone.itl, [Role.SAST], 'held-itl'),
    },
    options,
    rollbackHeld,
    lockedOut,
    stuck,
    steps,
    notes,
  };
}

export function renderRecovery(report: RecoveryReport): string {
  const lines = ['plan: recover phones that reject what the TFTP server serves'];
  const h = report.holds;
  const held = [h.ctl ? `${h.ctl.name} (CTL, signed by "${h.ctl.signer}")` : '', h.itl ? `${h.itl.name} (ITL${h.itl.rollback ? ', the rollback ITL' : ''}, signed by "${h.itl.signer}")` : '']
    .filter(Boolean)
    .join(' and ');
  lines.push(`phones hold: ${held || 'nothing (no CTL, no ITL)'}`);
  if (report.serves) {
    lines.push('', 'what the TFTP server serves now:');
    for (const v of report.serves) lines.push(`  ${v.name}: ${v.verdict === 'rejected' ? 'REJECTED' : v.verdict} [${v.rule}]`, `     ${v.reason}`);
  }
  if (report.wanted.ctl.length || report.wanted.itl.length) {
    lines.push('', 'keys phones would accept (look for one of these):');
    for (const r of report.wanted.ctl) lines.push(`  CTL signer: ${r.role} "${r.subject}" serial ${r.serial}`);
    for (const r of report.wanted.itl) lines.push(`  ITL signer: ${r.role} "${r.subject}" serial ${r.serial}`);
  }
  if (report.options.length) {
    lines.push('', 'what you can still sign that phones accept:');
    for (const o of report.options) {
      lines.push(`  ${o.target.toUpperCase()} with ${o.key}: ${o.why}`);
      for (const c of o.commands) lines.push(`      ${c}`);
    }
  }
  for (const s of report.stuck) lines.push(`stuck: ${s}`);
  for (const n of report.notes) lines.push('', `note: ${n}`);
  if (report.steps.length) {
    lines.push('', 'steps:');
    let n = 0;
    for (const s of report.steps) lines.push(s.startsWith('  - ') ? `   ${s}` : `  ${(n += 1)}. ${s}`);
  }
  lines.push(
    '',
    report.lockedOut
      ? 'result: LOCKED OUT: only deleting the trust list on the phones is left (steps above)'
      : report.options.length || report.rollbackHeld || (!h.ctl && !h.itl)
        ? 'result: recoverable with what you hold (steps above)'
        : 'result: nothing the phones hold needs replacing with the keys given',
  );
  return `${lines.join('\n')}\n`;
}
