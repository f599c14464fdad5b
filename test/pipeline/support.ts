import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEMP_MARKER } from '../../src/util/atomic-write';
import { runCliCaptured } from '../helpers/run-cli';

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `openctl-${prefix}-`));
}

/** Every file under `dir`, relative, `/`-separated, the state folder left out. */
export function listFiles(dir: string, keep: (rel: string) => boolean = () => true): string[] {
  const found: string[] = [];
  const visit = (abs: string, rel: string) => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (r !== '.openctl') visit(path.join(abs, entry.name), r);
      } else if (keep(r)) found.push(r);
    }
  };
  visit(dir, '');
  return found.sort();
}

/** Temp files anywhere under `dir` (the state folder included). */
export function tempFiles(dir: string): string[] {
  const found: string[] = [];
  const visit = (abs: string) => {
    for (const entry of fs.readdirSync(abs, { withFileTypes: true })) {
      const child = path.join(abs, entry.name);
      if (entry.isDirectory()) visit(child);
      else if (entry.name.startsWith(TEMP_MARKER)) found.push(child);
    }
  };
  visit(dir);
  return found;
}

interface RawHeader {
  hash: string;
  headerLength: number;
  signature: Buffer;
  signed: Buffer;
  body: Buffer;
  filename: string;
}

/**
 * An independent reading of a signed file, written from formats.md and sharing no code with src/: walk the
 * header elements (tag, 2-byte length, value; tag 13 a lone byte), cut out the signature element.
 */
export function rawHeader(bytes: Buffer): RawHeader {
  let at = 0;
  let headerLength = -1;
  let hash = '';
  let signature: Buffer | undefined;
  let sigStart = -1;
  let filename = '';
  while (headerLength < 0 || at < headerLength) {
    const tag = bytes[at];
    if (tag === 13) {
      at += 1;
      continue;
    }
    const length = bytes.readUInt16BE(at + 1);
    const value = bytes.subarray(at + 3, at + 3 + length);
    if (tag === 2) headerLength = value.readUInt16BE(0);
    if (tag === 7) hash = ({ 1: 'sha1', 2: 'sha256', 3: 'sha512' } as Record<number, string>)[value[3]];
    if (tag === 12) {
      signature = Buffer.from(value);
      sigStart = at;
    }
    if (tag === 14) filename = value.subarray(0, value.length - 1).toString('utf8');
    at += 3 + length;
  }
  assert.ok(signature && sigStart >= 0, 'a signature element');
  const signed = Buffer.concat([bytes.subarray(0, sigStart), bytes.subarray(sigStart + 3 + signature.length)]);
  return { hash, headerLength, signature, signed, body: bytes.subarray(headerLength), filename };
}

/** Verify with the openssl command line (an implementation independent of openctl and of node). */
export function opensslVerifies(bytes: Buffer, certificatePem: string, scratch: string): boolean {
  const raw = rawHeader(bytes);
  const pub = path.join(scratch, 'pub.pem');
  if (!fs.existsSync(pub)) {
    fs.writeFileSync(pub, new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'pem' }));
  }
  fs.writeFileSync(path.join(scratch, 'signed.bin'), raw.signed);
  fs.writeFileSync(path.join(scratch, 'sig.bin'), raw.signature);
  try {
    execFileSync('openssl', ['dgst', `-${raw.hash}`, '-verify', pub, '-signature', path.join(scratch, 'sig.bin'), path.join(scratch, 'signed.bin')], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** `openctl verify FILE --cert CERT` in-process: true when it says valid (exit 0). */
export async function openctlVerifies(file: string, cert: string): Promise<boolean> {
  const result = await runCliCaptured(['verify', file, '--cert', cert, '--json']);
  return result.code === 0 && (JSON.parse(result.stdout) as { valid: boolean }).valid;
}

export function certPemOf(file: string): string {
  const text = fs.readFileSync(file, 'utf8');
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  if (!match) throw new Error(`${file}: no certificate`);
  return `${match[0]}\n`;
}

export function readJsonLines<T>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}
