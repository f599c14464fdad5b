/**
 * `openctl preflight` from its named inputs to its report, for the CLI and the GUI's Preflight screen alike: the
 * inputs are read (paths, folders, tftp:// and http:// URLs, a fleet folder), the trust model decides, and the
 * report is the one `--json` prints (docs/json.md#preflight) with the text the CLI prints otherwise.
 */
import { OpenctlError } from '../util/errors';
import { preflight, preflightFleet, renderFleet, renderPreflight, type PhoneFile, type PhoneTrust, type TvsModel } from '../trust';
import { readFleet, readPhoneFiles, readPhoneTrust, readTvs, type InputSettings } from './inputs';

export interface PreflightRequest {
  /** The new files, in phone download order (folders give their .tlv/.sgn/.xml files). */
  deploy: readonly string[];
  /** What the phone holds now: CTL and/or ITL paths, folders or URLs (none: a phone that holds nothing). */
  phoneHas?: readonly string[];
  tvsKnows?: readonly string[];
  tvsCert?: readonly string[];
  /** Security by Default (false: 7940/7960, no TVS). */
  sbd?: boolean;
  /** Many phones: one sub-folder per phone or group. */
  fleet?: string;
}

/** The `--json` object of `openctl preflight`: one phone, or a fleet. */
export type PreflightJson = Record<string, unknown> & { ok: boolean };

export interface PreflightReport {
  ok: boolean;
  json: PreflightJson;
  /** What the CLI prints without --json. */
  text: string;
}

/**
 * What TVS vouches for, decided another way than from --tvs-knows (the CLI's --tvs asks a live TVS about every
 * certificate of the files deployed and held); `live` is reported in the JSON as it is.
 */
export type TvsSource = (deploy: PhoneFile[], phones: PhoneTrust[]) => Promise<{ tvs: TvsModel; live?: object }>;

export async function preflightReport(request: PreflightRequest, settings: InputSettings, tvsSource?: TvsSource): Promise<PreflightReport> {
  const phoneHas = request.phoneHas ?? [];
  const sbd = request.sbd ?? true;
  if (request.fleet && phoneHas.length > 0) {
    throw new OpenctlError('give either --fleet or --phone-has, not both (a fleet folder says what each group holds)');
  }
  const deploy = await readPhoneFiles(request.deploy, settings);
  if (deploy.length === 0) throw new OpenctlError('--deploy: no files to check (a folder contributes its .tlv, .sgn and .xml files)');
  const groups = request.fleet ? await readFleet(request.fleet, sbd, settings) : undefined;
  const phone = groups ? undefined : await readPhoneTrust(phoneHas, sbd, settings);
  let tvs: TvsModel;
  let live: object | undefined;
  if (tvsSource) ({ tvs, live } = await tvsSource(deploy, groups ? groups.map((g) => g.phone) : [phone!]));
  else tvs = await readTvs(request.tvsKnows ?? [], request.tvsCert ?? [], settings);

  if (groups) {
    const fleet = preflightFleet(groups, deploy, tvs);
    return {
      ok: fleet.ok,
      json: {
        ok: fleet.ok,
        groups: fleet.groups.map((g) => ({ name: g.name, phones: g.phones, ok: g.result.ok, before: g.result.before, files: g.result.verdicts, after: g.result.after })),
        perFile: fleet.perFile,
        groupsRejecting: fleet.groupsRejecting,
        phonesRejecting: fleet.phonesRejecting,
        ...(live ? { tvs: live } : {}),
      },
      text: renderFleet(fleet),
    };
  }
  const result = preflight(phone!, deploy, tvs);
  return {
    ok: result.ok,
    json: { ok: result.ok, before: result.before, tvs: { knows: tvs.knows.length, serviceCertificates: tvs.serviceCertificates?.length ?? 0, ...live }, files: result.verdicts, after: result.after },
    text: renderPreflight(result, tvs),
  };
}
