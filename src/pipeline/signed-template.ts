import { createHash } from 'node:crypto';
import type { HashAlgorithm } from '../crypto/hash';
import type { Signer } from '../crypto/signer';
import type { DnStyle } from '../formats/model';

/**
 * The formats builders and parser, loaded on first use: only `derive` (main thread, once per job) needs them,
 * and a worker thread, which only rebuilds the template from its parts, saves ~12 ms of start-up loading them.
 */
const formats = () => ({
  // The two modules it uses, not formats/index (which also loads the trust-list and encrypted-config builders).
  buildSignedFile: (require('../formats/signed-file') as typeof import('../formats/signed-file')).buildSignedFile,
  parseFile: (require('../formats/parse') as typeof import('../formats/parse')).parseFile,
});

/** Sign a digest right away (a key in this thread); the template never waits on a promise per file. */
export type SignDigestSync = (digest: Buffer, hash: HashAlgorithm) => Uint8Array;

export interface PreparedFile {
  file: Buffer;
  digest: Buffer;
  signatureOffset: number;
}

/** What a worker thread needs to rebuild the template without deriving it again (no certificate parsing). */
export interface TemplateParts {
  versionElement: Uint8Array;
  signerElements: Uint8Array;
  hash: HashAlgorithm;
  signatureLength: number;
}

export interface BuiltFile {
  file: Buffer;
  /** The digest that was signed (for the audit log). */
  digest: Buffer;
}

const TAG = { version: 1, headerLength: 2, signerInfo: 3, signatureInfo: 7, signature: 12, padding: 13, filename: 14, timestamp: 15 };
const EXPECTED_ORDER = [TAG.version, TAG.headerLength, TAG.signerInfo, TAG.signatureInfo, TAG.signature, TAG.filename, TAG.timestamp];

/** A big-endian 16-bit value at `at`; returns the offset after it. */
function uint16(file: Buffer, at: number, value: number): number {
  file[at] = value >>> 8;
  file[at + 1] = value & 0xff;
  return at + 2;
}

/** A header element's tag and 16-bit length at `at`; returns the offset of its value. */
function element(file: Buffer, at: number, tag: number, length: number): number {
  file[at] = tag;
  return uint16(file, at + 1, length);
}

/**
 * The hot path of batch signing: a `.sgn` header whose signer part (tags 3 and 7) is taken once from a file that
 * `buildSignedFile` made, so that each file costs one allocation, one hash and one signature — no certificate
 * parsing, no DN formatting, no re-serialisation. `derive` proves, by building probe files both ways, that the
 * template writes exactly the bytes `buildSignedFile` writes; when it cannot prove it, there is no template and
 * the caller uses `buildSignedFile` for every file.
 */
export class SignedFileTemplate {
  private constructor(
    private readonly versionElement: Buffer,
    private readonly signerElements: Buffer,
    private readonly hash: HashAlgorithm,
    private readonly signatureLength: number,
  ) {}

  static fromParts(parts: TemplateParts): SignedFileTemplate {
    return new SignedFileTemplate(Buffer.from(parts.versionElement), Buffer.from(parts.signerElements), parts.hash, parts.signatureLength);
  }

  parts(): TemplateParts {
    return { versionElement: this.versionElement, signerElements: this.signerElements, hash: this.hash, signatureLength: this.signatureLength };
  }

  static async derive(
    identity: Pick<Signer, 'certificate' | 'keyBits' | 'description'>,
    hash: HashAlgorithm,
    dnStyle?: DnStyle,
  ): Promise<SignedFileTemplate | undefined> {
    const signatureLength = identity.keyBits / 8;
    const fakeSignature = Buffer.alloc(signatureLength, 0x5a);
    let captured: Buffer | undefined;
    const probeSigner: Signer = {
      certificate: identity.certificate,
      keyBits: identity.keyBits,
      description: identity.description,
      sign: async (digest) => {
        captured = Buffer.from(digest);
        return fakeSignature;
      },
    };
    const timestamp = 0x5f5e1000;
    const body = Buffer.from('<probe/>\n');
    let template: SignedFileTemplate | undefined;
    // Four name lengths give the four padding counts.
    for (const filename of ['a.sgn', 'ab.sgn', 'abc.sgn', 'abcd.sgn']) {
      const reference = await formats().buildSignedFile({ body, filename, signer: probeSigner, hash, timestamp, dnStyle });
      template ??= SignedFileTemplate.fromSample(reference, hash, signatureLength);
      if (!template) return undefined;
      const ours = template.build(body, filename, timestamp, () => fakeSignature);
      if (!ours.file.equals(reference) || !captured || !ours.digest.equals(captured)) return undefined;
    }
    return template;
  }

  private static fromSample(sample: Buffer, hash: HashAlgorithm, signatureLength: number): SignedFileTemplate | undefined {
    const { header } = formats().parseFile(sample);
    const elements = header.elements.filter((e) => !e.padding);
    if (elements.length !== EXPECTED_ORDER.length || elements.some((e, i) => e.tag !== EXPECTED_ORDER[i])) return undefined;
    if (header.elements.some((e) => e.padding && e.offset < elements[elements.length - 1].offset)) return undefined;
    const raw = (i: number) => sample.subarray(elements[i].offset, elements[i].offset + 3 + elements[i].value.length);
    if (elements[4].value.length !== signatureLength) return undefined;
    return new SignedFileTemplate(Buffer.from(raw(0)), Buffer.concat([raw(2), raw(3)]), hash, signatureLength);
  }

  /** Build `filename`'s signed file around `body`; `sign` receives the digest of everything but the signature. */
  build(body: Uint8Array, filename: string, timestamp: number, sign: SignDigestSync, scratch?: Buffer): BuiltFile {
    const prepared = this.prepare(body, filename, timestamp, scratch);
    return { file: this.complete(prepared, sign(prepared.digest, this.hash)), digest: prepared.digest };
  }

  /**
   * The file with room for its signature, and the digest to sign (for signers that answer later). With
   * `scratch` large enough, the file is built in it (no allocation: the caller writes it out before reusing it).
   */
  prepare(body: Uint8Array, filename: string, timestamp: number, scratch?: Buffer): PreparedFile {
    const nameLength = Buffer.byteLength(filename) + 1;
    const signatureStart = this.versionElement.length + 5 + this.signerElements.length;
    const afterSignature = signatureStart + 3 + this.signatureLength;
    const unpadded = afterSignature + 3 + nameLength + 7;
    const headerLength = unpadded + ((4 - (unpadded % 4)) % 4);
    const size = headerLength + body.length;
    const file = scratch && scratch.length >= size ? scratch.subarray(0, size) : Buffer.allocUnsafe(size);

    // Header fields stored byte by byte: Buffer's writeUInt16BE/writeUInt32BE/fill are JavaScript with bounds
    // checks, each one more function for V8 to optimise in every worker before the batch runs at full speed.
    let at = this.versionElement.copy(file, 0);
    at = element(file, at, TAG.headerLength, 2);
    at = uint16(file, at, headerLength);
    at += this.signerElements.copy(file, at);
    element(file, at, TAG.signature, this.signatureLength);
    at = element(file, afterSignature, TAG.filename, nameLength);
    at += file.write(filename, at, 'utf8');
    file[at++] = 0;
    at = element(file, at, TAG.timestamp, 4);
    at = uint16(file, at, (timestamp >>> 16) & 0xffff);
    at = uint16(file, at, timestamp & 0xffff);
    while (at < headerLength) file[at++] = TAG.padding;
    file.set(body, headerLength);

    const digest = createHash(this.hash)
      .update(file.subarray(0, signatureStart))
      .update(file.subarray(afterSignature))
      .digest();
    return { file, digest, signatureOffset: signatureStart + 3 };
  }

  /** Put the signature in place; returns the finished file (the same buffer). */
  complete(prepared: PreparedFile, signature: Uint8Array): Buffer {
    if (signature.length !== this.signatureLength) {
      throw new RangeError(`the signer returned ${signature.length} bytes, the header announces ${this.signatureLength}`);
    }
    prepared.file.set(signature, prepared.signatureOffset);
    return prepared.file;
  }
}
