import type { HashAlgorithm } from '../crypto/hash';
import type { DnStyle } from '../formats/model';
import type { TemplateParts } from './signed-template';

/** The messages between the batch's main thread and its worker threads (structured clone, batched). */

export interface WorkerInit {
  /** DER of the signing certificate. */
  certificate: Uint8Array;
  keyBits: number;
  description: string;
  /** PEM text (key + certificate) when the worker signs itself; absent when signatures come from the main thread. */
  pem?: string;
  hash: HashAlgorithm;
  /** Header timestamp of every file of the job (Unix seconds). */
  timestamp: number;
  dnStyle?: DnStyle;
  /** SHA-256 fingerprint of the certificate and the job, for the journal and audit lines the workers write. */
  fingerprint: string;
  jobId: string;
  /** The `.sgn` header template derived once by the main thread (absent: build every file with buildSignedFile). */
  template?: TemplateParts;
  srcRoot: string;
  outRoot: string;
}

/** JSON text: a string (the worker threads), or its UTF-8 bytes (the native file engine writes them itself). */
export type TextLine = string | Uint8Array;

export type OutputKind = 'signed' | 'encrypted' | 'stub';

export interface OutputRecord {
  /** Path relative to OUT_DIR, `/`-separated. */
  file: string;
  sha256: string;
  size: number;
  kind: OutputKind;
}

/** A temp file waiting for its group's commit: the absolute temp path and the output it becomes. */
export interface PendingRename {
  tmp: string;
  /** Relative to OUT_DIR. */
  file: string;
}

export interface FileTask {
  /** Source path relative to SRC_DIR, `/`-separated. */
  source: string;
  /** `NAME.sgn`, relative to OUT_DIR. */
  output: string;
  /** The source must be XML (a phone config or XML file). */
  xml: boolean;
  /** Encrypt for this phone: path of its certificate; the outputs are `NAME.enc.sgn` and the stub `NAME.sgn`. */
  deviceCert?: string;
  /** `--incremental`: what the manifest recorded; kept as is when the source and outputs are unchanged. */
  previous?: { sourceSha256: string; deviceCertSha256?: string; outputs: OutputRecord[] };
}

export type FileResult =
  /**
   * Signed and written as temp files. The worker also wrote the file's journal line (its manifest entry, JSON)
   * and its audit lines, so that the main thread only strings them together at commit time.
   */
  | { source: string; status: 'signed'; renames: PendingRename[]; journalLine: TextLine; auditLines: TextLine }
  | { source: string; status: 'kept' }
  | { source: string; status: 'failed'; problem: string }
  /** Not done and not the file's fault (the signer stopped): the resumed batch does it. */
  | { source: string; status: 'interrupted' };

export interface SignReply {
  signature?: Uint8Array;
  tokenSerial?: string;
  /** Why there is no signature (the signer stopped: a token removed...). */
  failed?: string;
}

export type ToWorker =
  | { type: 'init'; init: WorkerInit }
  | { type: 'chunk'; id: number; tasks: FileTask[] }
  | { type: 'signed'; requestId: number; replies: SignReply[] }
  | { type: 'sign-failed'; requestId: number; message: string };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'init-failed'; message: string }
  | { type: 'sign'; requestId: number; hash: HashAlgorithm; digests: Uint8Array[] }
  | { type: 'done'; id: number; results: FileResult[] };
