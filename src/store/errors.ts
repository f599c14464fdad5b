import { OpenctlError, ExitCode } from '../util/errors';

/** The store could not be opened, read or written: one line naming the store (never its password). */
export class StoreError extends OpenctlError {
  constructor(
    message: string,
    /** Busy, locked or unreachable: worth trying again later (a server answers this peer, it does not exit). */
    readonly transient = false,
  ) {
    super(message, ExitCode.BadInput);
    this.name = 'StoreError';
  }
}
