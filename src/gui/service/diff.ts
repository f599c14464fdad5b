import { OpenctlError } from '../../util/errors';
import type { FileSource } from '../contract';
import type { DiffView } from '../types';

/** Pending src/trust's diff. */
export async function diffFiles(_old: FileSource, _new: FileSource): Promise<DiffView> {
  throw new OpenctlError('diff is not available yet');
}
