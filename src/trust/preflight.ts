import type { FileVerdict, HoldingSummary, PhoneFile, PhoneTrust, TvsModel, VerdictKind } from './model';
import { phoneFileKind } from './model';
import { evaluateFile, summarizeHolding, type EvaluateOptions } from './evaluate';

const ORDER: Record<string, number> = { ctl: 0, itl: 1 };

/** The order a phone downloads files in: CTL, then ITL, then everything else (stable within each group). */
export function downloadOrder<T extends PhoneFile>(files: readonly T[]): T[] {
  return files
    .map((file, index) => ({ file, index, rank: ORDER[phoneFileKind(file)] ?? 2 }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((x) => x.file);
}

export interface PreflightResult {
  before: HoldingSummary;
  verdicts: FileVerdict[];
  after: HoldingSummary;
  /** What the phone holds once every file has been offered. */
  phone: PhoneTrust;
  /** Every file accepted, directly or via TVS. */
  ok: boolean;
}

/** Offer every file to the phone in download order; each verdict sees what the previous ones left behind. */
export function preflight(
  phone: PhoneTrust,
  files: readonly PhoneFile[],
  tvs: TvsModel,
  options: EvaluateOptions = {},
): PreflightResult {
  const before = summarizeHolding(phone);
  let current = phone;
  const verdicts: FileVerdict[] = [];
  for (const file of downloadOrder(files)) {
    const { verdict, phone: next } = evaluateFile(current, file, tvs, options);
    verdicts.push(verdict);
    current = next;
  }
  return { before, verdicts, after: summarizeHolding(current), phone: current, ok: verdicts.every((v) => v.verdict !== 'rejected') };
}

export type VerdictCounts = Record<VerdictKind, number>;

export interface FleetGroup {
  name: string;
  phone: PhoneTrust;
  /** How many phones the group stands for (default 1). */
  phones?: number;
}

export interface FleetResult {
  groups: Array<{ name: string; phones: number; result: PreflightResult }>;
  /** Per deploy file name: how many groups (and phones) reach each verdict. */
  perFile: Array<{ name: string; groups: VerdictCounts; phones: VerdictCounts }>;
  groupsOk: number;
  groupsRejecting: number;
  phonesRejecting: number;
  ok: boolean;
}

const zero = (): VerdictCounts => ({ accepted: 0, 'accepted-via-tvs': 0, rejected: 0 });

/** Preflight for many phones at once: one verdict walk per group, counted per file and verdict. */
export function preflightFleet(
  groups: readonly FleetGroup[],
  files: readonly PhoneFile[],
  tvs: TvsModel,
  options: EvaluateOptions = {},
): FleetResult {
  const ordered = downloadOrder(files);
  const perFile = ordered.map((f) => ({ name: f.name, groups: zero(), phones: zero() }));
  const results = groups.map((g) => {
    const result = preflight(g.phone, ordered, tvs, options);
    const phones = g.phones ?? 1;
    result.verdicts.forEach((v, i) => {
      perFile[i]!.groups[v.verdict] += 1;
      perFile[i]!.phones[v.verdict] += phones;
    });
    return { name: g.name, phones, result };
  });
  const rejecting = results.filter((r) => !r.result.ok);
  return {
    groups: results,
    perFile,
    groupsOk: results.length - rejecting.length,
    groupsRejecting: rejecting.length,
    phonesRejecting: rejecting.reduce((n, r) => n + r.phones, 0),
    ok: rejecting.length === 0,
  };
}
