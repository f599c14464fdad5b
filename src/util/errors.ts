/**
 * One exit-code table for every command (documented in the README):
 * 0 success / valid / accepted; 1 invalid signature, phones would reject, or some files of a batch failed;
 * 2 malformed input or bad usage; 3 token or PKCS#11 problem; 4 network or TLS failure talking to a service
 * (TVS, CAPF: unreachable, handshake failed, not the server the trust anchor names, no answer in time);
 * 130 interrupted.
 */
export const ExitCode = {
  Ok: 0,
  Rejected: 1,
  BadInput: 2,
  Token: 3,
  Network: 4,
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error meant for a person: one line, already naming the file and the problem. The CLI prints
 * `openctl: <message>` and exits with `exitCode`; anything that is not an OpenctlError is a bug.
 */
export class OpenctlError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = ExitCode.BadInput,
  ) {
    super(message);
    this.name = 'OpenctlError';
  }
}

/** Malformed input: a file whose structure breaks at `offset`. */
export class FormatError extends OpenctlError {
  constructor(
    readonly problem: string,
    readonly offset: number,
    readonly file?: string,
  ) {
    super(`${file ?? '<input>'}: at byte ${offset}: ${problem}`, ExitCode.BadInput);
    this.name = 'FormatError';
  }

  /** The same error, naming the file it came from. */
  withFile(file: string): FormatError {
    return new FormatError(this.problem, this.offset, file);
  }
}

/** A token or PKCS#11 problem: module, token, PIN, removal. */
export class TokenError extends OpenctlError {
  constructor(message: string) {
    super(message, ExitCode.Token);
    this.name = 'TokenError';
  }
}

/** A service (TVS, CAPF) could not be reached or talked to: refused, timed out, TLS failed, wrong server. */
export class NetworkError extends OpenctlError {
  constructor(message: string) {
    super(message, ExitCode.Network);
    this.name = 'NetworkError';
  }
}

/** Ctrl-C or SIGTERM reached a long-running command. */
export class InterruptedError extends OpenctlError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.Interrupted);
    this.name = 'InterruptedError';
  }
}
