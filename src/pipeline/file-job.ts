import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import type { DnStyle } from '../formats/model';
import { describeWriteError } from '../util/atomic-write';
import { OpenctlError } from '../util/errors';
import { MAX_INPUT_BYTES, readInputSync } from '../util/read-input';
import { looksLikeXml, readProblem } from './file-checks';
import type { ManifestEntry } from './journal';
import type { AuditRecord } from './audit';
import type { FileResult, FileTask, OutputKind, OutputRecord, PendingRename, SignReply } from './protocol';
import type { SignedFileTemplate, SignDigestSync } from './signed-template';
import { encryptedOutputOf, joinRel, TempNames } from './rel-path';

/**
 * Loaded on first use: a plain `.sgn` with a template needs neither the formats builders nor the certificate
 * reader (encrypted configs and the generic path do), and each worker thread saves their start-up cost.
 */
const formats = () => require('../formats') as typeof import('../formats');
const certificates = () => require('../crypto/certificate') as typeof import('../crypto/certificate');

/** How a worker gets signatures: from a key of its own (synchronously) or from the main thread. */
export interface WorkerSigning {
  identity: Pick<Signer, 'certificate' | 'keyBits' | 'description'>;
  signSync?: SignDigestSync;
  signAsync(digest: Buffer, hash: HashAlgorithm): Promise<SignReply>;
}

export interface FileJobOptions {
  fingerprint: string;
  jobId: string;
  srcRoot: string;
  outRoot: string;
  hash: HashAlgorithm;
  timestamp: number;
  dnStyle?: DnStyle;
  template?: SignedFileTemplate;
  signing: WorkerSigning;
}

/** Thrown through a file's build when the signer (not the file) stopped: the file is left for the resume. */
export class SignerStopped extends Error {}

interface Built {
  file: Buffer;
  digest: Buffer;
  tokenSerial?: string;
}

const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * One source file from bytes on disk to signed temp files beside their final names (renamed later, in
 * groups, by the main thread once their bytes are durable). Per-file problems become a `failed` result;
 * only a stopped signer escapes, as `interrupted`.
 */
export class FileJob {
  /** Reused by the synchronous path (one file at a time): no allocation, no garbage per file. */
  private readBuffer = Buffer.allocUnsafe(256 * 1024);
  private writeBuffer = Buffer.allocUnsafe(256 * 1024);
  private readonly temps = new TempNames();

  constructor(private readonly options: FileJobOptions) {}

  /** Synchronous when the worker holds the key and the file is a plain `.sgn`: no promise per file. */
  run(task: FileTask): FileResult | Promise<FileResult> {
    const sync = !task.deviceCert && this.options.template !== undefined && this.options.signing.signSync !== undefined;
    let source: Buffer;
    try {
      const file = joinRel(this.options.srcRoot, task.source);
      source = sync ? this.readReusing(file) : Buffer.from(this.readReusing(file));
    } catch (err) {
      return { source: task.source, status: 'failed', problem: readProblem(err) };
    }
    if (source.length === 0) return { source: task.source, status: 'failed', problem: 'empty file' };
    if (task.xml && !looksLikeXml(source)) {
      return { source: task.source, status: 'failed', problem: 'not XML (a .xml file a phone parses must be XML)' };
    }
    const sourceSha256 = sha256Hex(source);
    let deviceCert: Buffer | undefined;
    let deviceCertSha256: string | undefined;
    if (task.deviceCert) {
      try {
        deviceCert = certificates().readCertificates(readInputSync(task.deviceCert, 'certificate'))[0];
        if (!deviceCert) throw new Error('no certificate in the file');
      } catch (err) {
        return { source: task.source, status: 'failed', problem: `phone certificate ${task.deviceCert}: ${(err as Error).message}` };
      }
      deviceCertSha256 = sha256Hex(deviceCert);
    }
    if (this.unchanged(task, sourceSha256, deviceCertSha256)) return { source: task.source, status: 'kept' };

    const { template, timestamp } = this.options;
    const signSync = this.options.signing.signSync;
    if (sync && template && signSync) {
      try {
        if (this.writeBuffer.length < source.length + 4096) this.writeBuffer = Buffer.allocUnsafe(2 * source.length + 4096);
        const built = template.build(source, basename(task.output), timestamp, signSync, this.writeBuffer);
        return this.written(task, sourceSha256, undefined, [['signed', task.output, built]]);
      } catch (err) {
        return this.failure(task, err);
      }
    }
    return this.runAsync(task, source, sourceSha256, deviceCert, deviceCertSha256);
  }

  private async runAsync(
    task: FileTask,
    source: Buffer,
    sourceSha256: string,
    deviceCert: Buffer | undefined,
    deviceCertSha256: string | undefined,
  ): Promise<FileResult> {
    try {
      if (!deviceCert) {
        const built = await this.signed(source, basename(task.output));
        return this.written(task, sourceSha256, undefined, [['signed', task.output, built]]);
      }
      const encryptedName = encryptedOutputOf(task.output);
      const encrypted = await this.withSigner((signer) =>
        formats().buildEncryptedConfig({
          plaintext: source,
          filename: basename(encryptedName),
          signer,
          deviceCertificate: deviceCert,
          hash: this.options.hash,
          timestamp: this.options.timestamp,
          dnStyle: this.options.dnStyle,
        }),
      );
      const stubBody = Buffer.from(formats().buildEncryptedStub(source.toString('utf8'), deviceCert), 'utf8');
      const stub = await this.signed(stubBody, basename(task.output));
      return this.written(task, sourceSha256, deviceCertSha256, [
        ['encrypted', encryptedName, encrypted],
        ['stub', task.output, stub],
      ]);
    } catch (err) {
      return this.failure(task, err);
    }
  }

  private async signed(body: Buffer, filename: string): Promise<Built> {
    const { template, signing, timestamp, hash, dnStyle } = this.options;
    if (template) {
      const prepared = template.prepare(body, filename, timestamp);
      const reply = await signing.signAsync(prepared.digest, hash);
      return { file: template.complete(prepared, reply.signature as Uint8Array), digest: prepared.digest, tokenSerial: reply.tokenSerial };
    }
    return this.withSigner((signer) => formats().buildSignedFile({ body, filename, signer, hash, timestamp, dnStyle }));
  }

  /** Run a formats builder with a Signer that records the digest and the token that signed it. */
  private async withSigner(build: (signer: Signer) => Promise<Buffer>): Promise<Built> {
    const { signing } = this.options;
    let digest: Buffer | undefined;
    let tokenSerial: string | undefined;
    const signer: Signer = {
      ...signing.identity,
      sign: async (d, hash) => {
        digest = Buffer.from(d);
        const reply = await signing.signAsync(digest, hash);
        tokenSerial = reply.tokenSerial;
        return reply.signature as Uint8Array;
      },
    };
    const file = await build(signer);
    return { file, digest: digest ?? Buffer.alloc(0), tokenSerial };
  }

  /**
   * Read a whole file into the reused buffer (grown when a file is larger). The walk only hands on regular
   * files, but one may be swapped for a FIFO or a device since: opened without blocking and checked on the
   * descriptor, so a worker never hangs on one nor reads /dev/zero forever.
   */
  private readReusing(file: string): Buffer {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw new OpenctlError('not a regular file (a FIFO, device or socket is never signed)');
      if (stat.size > MAX_INPUT_BYTES) throw new OpenctlError(`${stat.size} bytes is larger than the ${MAX_INPUT_BYTES}-byte limit`);
      let length = 0;
      for (;;) {
        if (length === this.readBuffer.length) {
          const bigger = Buffer.allocUnsafe(this.readBuffer.length * 2);
          this.readBuffer.copy(bigger, 0, 0, length);
          this.readBuffer = bigger;
        }
        const n = fs.readSync(fd, this.readBuffer, length, this.readBuffer.length - length, null);
        if (n === 0) return this.readBuffer.subarray(0, length);
        length += n;
        if (length > MAX_INPUT_BYTES) throw new OpenctlError(`larger than the ${MAX_INPUT_BYTES}-byte limit`);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** `--incremental`: same source, same phone certificate, and every recorded output still holds its bytes. */
  private unchanged(task: FileTask, sourceSha256: string, deviceCertSha256: string | undefined): boolean {
    const previous = task.previous;
    if (!previous || previous.sourceSha256 !== sourceSha256 || previous.deviceCertSha256 !== deviceCertSha256) return false;
    const expected = deviceCertSha256 ? [encryptedOutputOf(task.output), task.output] : [task.output];
    const files = previous.outputs.map((o: OutputRecord) => o.file);
    if (files.length !== expected.length || !expected.every((f) => files.includes(f))) return false;
    for (const output of previous.outputs) {
      try {
        if (sha256Hex(fs.readFileSync(path.join(this.options.outRoot, output.file))) !== output.sha256) return false;
      } catch {
        return false;
      }
    }
    return true;
  }

  private written(
    task: FileTask,
    sourceSha256: string,
    deviceCertSha256: string | undefined,
    files: Array<[OutputKind, string, Built]>,
  ): FileResult {
    const renames: PendingRename[] = [];
    const outputs: OutputRecord[] = [];
    const time = new Date().toISOString();
    const { fingerprint, jobId, hash } = this.options;
    let auditLines = '';
    try {
      for (const [kind, rel, built] of files) {
        renames.push({ tmp: writeTemp(this.options.outRoot, rel, built.file, this.temps), file: rel });
        outputs.push({ file: rel, sha256: sha256Hex(built.file), size: built.file.length, kind });
        const audit: AuditRecord = { time, signer: fingerprint, token: built.tokenSerial, file: rel, hash, digest: built.digest.toString('hex'), job: jobId };
        auditLines += `${JSON.stringify(audit)}\n`;
      }
    } catch (err) {
      for (const r of renames) fs.rmSync(r.tmp, { force: true });
      return { source: task.source, status: 'failed', problem: (err as Error).message };
    }
    const entry: ManifestEntry = { source: task.source, sourceSha256, signer: fingerprint, digest: hash, deviceCertSha256, outputs, signedAt: time };
    return { source: task.source, status: 'signed', renames, journalLine: JSON.stringify(entry), auditLines };
  }

  private failure(task: FileTask, err: unknown): FileResult {
    if (err instanceof SignerStopped) return { source: task.source, status: 'interrupted' };
    const message = err instanceof OpenctlError ? err.message : `cannot sign: ${(err as Error)?.message ?? String(err)}`;
    return { source: task.source, status: 'failed', problem: message };
  }
}

function basename(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Temp file beside output `rel` (its folder created on first use), never fsynced here: the group commit does it. */
export function writeTemp(outRoot: string, rel: string, data: Buffer, names: TempNames): string {
  const tmp = joinRel(outRoot, names.next(rel));
  let fd: number;
  try {
    fd = openExclusive(tmp);
  } catch (err) {
    throw describeWriteError(joinRel(outRoot, rel), err);
  }
  try {
    let written = 0;
    while (written < data.length) written += fs.writeSync(fd, data, written, data.length - written);
    fs.closeSync(fd);
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw describeWriteError(joinRel(outRoot, rel), err);
  }
  return tmp;
}

function openExclusive(file: string): number {
  const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
  try {
    return fs.openSync(file, flags, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    return fs.openSync(file, flags, 0o644);
  }
}
