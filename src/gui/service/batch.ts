import type { EventHub } from '../events';
import type { BatchState } from '../types';
import type { RequestOf } from '../contract';
import { OpenctlError } from '../../util/errors';
import type { TokenAccess } from './token-access';

export interface BatchServiceOptions {
  events: EventHub;
  tokens: TokenAccess;
}

/** Pending src/pipeline. */
export class BatchService {
  private current: BatchState = { jobId: '', status: 'idle', source: '', output: '', done: 0, failed: 0, skipped: 0, filesPerSecond: 0, errors: [] };
  constructor(private readonly options: BatchServiceOptions) {}
  async start(_request: RequestOf<'batchStart'>): Promise<BatchState> {
    throw new OpenctlError('batch is not available yet');
  }
  cancel(): BatchState {
    return this.current;
  }
  state(): BatchState {
    return this.current;
  }
  async close(): Promise<void> {}
}
