/**
 * The Sign screen's side of the service: a few configs signed (FILE.sgn) or encrypted to a phone's certificate
 * (FILE.enc.sgn + stub FILE.sgn) by the same functions as `openctl sign` and `openctl encrypt`, then each output
 * read back and verified as `openctl verify --trust LIST` (or `--cert` the signer's certificate) does.
 */
import * as path from 'node:path';
import { promises as fs } from 'node:fs';
import { encryptConfigFile, signConfigFile } from '../../builder/config-files';
import { readCertificates } from '../../crypto/certificate';
import { verifyAgainstTrustLists, verifyWithCertificates, type Verdict } from '../../crypto/verify';
import { parseFile } from '../../formats';
import { TFTP_CAPABLE_ROLES, type TrustList } from '../../formats/model';
import { digest } from '../../crypto/hash';
import { OpenctlError } from '../../util/errors';
import type { RequestOf } from '../contract';
import type { SignFilesView, SignedFileView } from '../types';
import { readSource } from './files';
import { readTrustListSource } from './inspect';
import { describeKey, openKey } from './keys';
import type { TokenAccess } from './token-access';

export async function signFiles(request: RequestOf<'signFiles'>, tokens: TokenAccess): Promise<SignFilesView> {
  const outDir = path.resolve(request.outDir);
  const stat = await fs.stat(outDir).catch(() => undefined);
  if (!stat?.isDirectory()) throw new OpenctlError(`${outDir}: no such folder: choose the folder the signed files go to`);
  const sources = await Promise.all(request.files.map((f) => readSource(f)));
  const trust = request.trust ? await readTrustListSource(request.trust) : undefined;
  let deviceCertificate: Buffer | undefined;
  if (request.deviceCert) {
    const { name, bytes } = await readSource(request.deviceCert);
    deviceCertificate = readCertificates(bytes)[0];
    if (!deviceCertificate) throw new OpenctlError(`${name}: no certificate found`);
  }
  const signer = await openKey(request.signer, tokens);
  const files: SignedFileView[] = [];
  try {
    const settings = { signer, hash: request.digest ?? 'sha1', overwrite: request.overwrite ?? false } as const;
    for (const source of sources) {
      const written = deviceCertificate
        ? Object.values(await encryptConfigFile(source.bytes, source.name, deviceCertificate, outDir, settings))
        : [(await signConfigFile(source.bytes, source.name, outDir, settings)).output];
      const outputs = [];
      for (const file of written) {
        const bytes = await fs.readFile(file);
        const verdict = verdictOf(parseFile(bytes, { file }), Buffer.from(signer.certificate), trust?.list);
        outputs.push({ path: file, sha1: digest('sha1', bytes).toString('hex'), verdict: { valid: verdict.valid, reason: verdict.reason, via: verdict.via ?? null } });
      }
      files.push({ source: source.name, outputs });
    }
  } finally {
    await signer.close?.();
  }
  return {
    signer: describeKey(request.signer, tokens),
    digest: request.digest ?? 'sha1',
    checkedAgainst: trust ? trust.name : "the signer's own certificate",
    files,
  };
}

/** As `openctl verify`: against the TFTP-capable records of the list phones hold, else the given certificate. */
function verdictOf(parsed: ReturnType<typeof parseFile>, signerCertificate: Buffer, trust?: TrustList): Verdict {
  if (trust) return verifyAgainstTrustLists(parsed, [trust], TFTP_CAPABLE_ROLES);
  return verifyWithCertificates(parsed, [signerCertificate]);
}
