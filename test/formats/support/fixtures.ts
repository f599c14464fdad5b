import * as fs from 'node:fs';
import * as path from 'node:path';
import { X509Certificate, verify } from 'node:crypto';
import { signedBytes } from '../../../src/formats';
import type { ParsedFile } from '../../../src/formats';
import { FIXTURES, vector } from '../../helpers/paths';
import { certDer } from './test-signer';

/** Vector files, the PEM of the key that signed each (vectors/README.md), and our own fixtures. */
export const SIGNER_OF: Readonly<Record<string, string>> = {
  'CTLFile-sha1.tlv': 'sast-a.pem',
  'CTLFile-sha512.tlv': 'sast-b.pem',
  'CTLFile-tampered.tlv': 'sast-a.pem',
  'ITLFile-sha1.tlv': 'itlrecovery.pem',
  'ITLFile-v1.1.tlv': 'itlrecovery.pem',
  'configs/Ringlist.xml.sgn': 'ccm-tftp.pem',
  'configs/SEP001122334455.cnf.xml.sgn': 'ccm-tftp.pem',
  'configs/SEP0011223344AA.cnf.xml.sgn': 'ccm-tftp.pem',
  'encrypted/SEP001122334455.cnf.xml.enc.sgn': 'ccm-tftp.pem',
  'encrypted/SEP001122334455.cnf.xml.sgn': 'ccm-tftp.pem',
  'cucm-style/CTLFile-cucm-style.tlv': 'sast-a.pem',
  'cucm-style/ITLFile-cucm-style.tlv': 'itlrecovery.pem',
};

export const VECTOR_FILES = Object.keys(SIGNER_OF);

export function readVector(name: string): Buffer {
  return fs.readFileSync(vector(name));
}

export function vectorCert(pem: string): Buffer {
  return certDer(vector('certs', pem));
}

export function certPath(pem: string): string {
  return vector('certs', pem);
}

export function ownFixture(name: string): string {
  return path.join(FIXTURES, 'own', name);
}

/**
 * Signature check done directly with node:crypto (independent of openctl's verify.ts): RSA PKCS#1 v1.5 with
 * the header's hash over the file minus the signature element.
 */
export function nodeVerifies(parsed: ParsedFile, certificate: Buffer): boolean {
  return verify(parsed.header.hash, signedBytes(parsed), new X509Certificate(certificate).publicKey, parsed.header.signature);
}

export function utc(timestamp: number): string {
  return new Date(timestamp * 1000).toISOString().replace('T', ' ').slice(0, 19);
}
