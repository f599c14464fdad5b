import { parseFile, parseTrustList } from '../../formats';
import type { ParsedFile, TrustList, TrustListKind } from '../../formats/model';
import { TFTP_CAPABLE_ROLES } from '../../formats/model';
import { verifyAgainstTrustLists, verifyTrustListSelf, type Verdict } from '../../crypto/verify';
import { buildReport } from '../../inspect/report';
import { summarizeRecords } from '../../inspect/summary';
import type { FileReport } from '../types';
import type { FileSource } from '../contract';
import { readSource } from './files';

export async function readParsedSource(source: FileSource, kind?: TrustListKind): Promise<{ name: string; parsed: ParsedFile }> {
  const { name, bytes } = await readSource(source);
  return { name, parsed: parseFile(bytes, { kind, file: name }) };
}

export async function readTrustListSource(source: FileSource, kind?: TrustListKind): Promise<{ name: string; list: TrustList }> {
  const { name, bytes } = await readSource(source);
  return { name, list: parseTrustList(bytes, { kind, file: name }) };
}

/**
 * What `openctl show --json` reports (with each record's expiry for a trust list), for the Inspect screen: a trust list is checked against its own signer record; a
 * signed file or encrypted config against the TFTP-capable records of a CTL or ITL, when one is given.
 */
export async function inspectFile(source: FileSource, trust?: FileSource, kind?: TrustListKind): Promise<FileReport> {
  const { name, parsed } = await readParsedSource(source, kind);
  let verdict: Verdict | undefined;
  if (trust) {
    const { list } = await readTrustListSource(trust);
    const roles = parsed.kind === 'ctl' || parsed.kind === 'itl' ? undefined : TFTP_CAPABLE_ROLES;
    verdict = verifyAgainstTrustLists(parsed, [list], roles);
  } else if (parsed.kind === 'ctl' || parsed.kind === 'itl') {
    verdict = verifyTrustListSelf(parsed);
  }
  const report: FileReport = buildReport(name, parsed, verdict);
  // Each record's expiry, as `openctl show --json` gives it (its `summary`).
  if (parsed.kind === 'ctl' || parsed.kind === 'itl') {
    report.summary = summarizeRecords(parsed, report.verdict.signerRecord === undefined ? undefined : report.verdict.signerRecord - 1);
  }
  if (!verdict) report.verdict.reason = 'not checked: choose the CTL or ITL that phones hold to check this file against';
  return report;
}
