import * as path from 'node:path';
import { diffTrustLists, renderDiff } from '../../trust';
import { OpenctlError } from '../../util/errors';
import type { FileSource } from '../contract';
import type { DiffView } from '../types';
import { readTrustListSource } from './inspect';
import { aList } from '../../util/words';

/**
 * `openctl diff OLD NEW` for the Inspect screen: the library's diff of two CTLs or two ITLs, rendered as the CLI
 * prints it, with its verdict on whether phones holding OLD accept NEW.
 */
export async function diffFiles(oldSource: FileSource, newSource: FileSource, labels?: { old?: string; new?: string }): Promise<DiffView> {
  const before = await readTrustListSource(oldSource);
  const after = await readTrustListSource(newSource);
  if (before.list.kind !== after.list.kind) {
    throw new OpenctlError(
      `${after.name}: is ${aList(after.list.kind)} but ${before.name} is ${aList(before.list.kind)}: diff compares lists of one kind`,
    );
  }
  const oldName = path.basename(before.name);
  const newName = path.basename(after.name);
  const diff = diffTrustLists({ name: oldName, list: before.list }, { name: newName, list: after.list });
  const verdict = diff.acceptance;
  const kind = before.list.kind.toUpperCase();
  return {
    oldLabel: `${labels?.old ?? 'current'} ${kind} (${oldName})`,
    newLabel: `${labels?.new ?? 'new'} ${kind} (${newName})`,
    structured: diff,
    lines: renderDiff(diff, oldName, newName).split('\n'),
    accepted: verdict.verdict !== 'rejected',
    summary: `Phones holding ${oldName} ${verdict.verdict === 'rejected' ? 'would REJECT' : 'accept'} ${newName}${verdict.verdict === 'accepted-via-tvs' ? ' (via TVS)' : ''}: ${verdict.reason}`,
    details: {
      added: diff.added.length,
      removed: diff.removed.length,
      changed: diff.changed.length,
      unchanged: diff.unchanged,
      signerChanged: diff.signer.changed,
    },
  };
}
