import 'reflect-metadata';
import { createPrivateKey } from 'node:crypto';
import * as fs from 'node:fs';
import * as x509 from '@peculiar/x509';
import * as pkcs11js from 'pkcs11js';
import { readCertificates } from '../../src/crypto/certificate';
import type { SoftHsmFixture } from '../helpers/softhsm';

const ckText = (s: string) => s.replace(/[\s\0]+$/u, '');

/**
 * Put the same RSA key and certificate (a PEM bundle) on several SoftHSM tokens of a fixture, under CKA_ID 01
 * and `label`: what an admin does to share a TFTP signing key over several tokens. Done through pkcs11js with
 * its own C_Initialize/C_Finalize, before openctl loads the module, and without any PIN on a command line.
 */
export function importKeyToTokens(hsm: SoftHsmFixture, tokenLabels: readonly string[], pemFile: string, label: string): void {
  const pem = fs.readFileSync(pemFile);
  const jwk = createPrivateKey(pem).export({ format: 'jwk' });
  const der = readCertificates(pem)[0];
  const parsed = new x509.X509Certificate(der);
  const b = (v: string | undefined) => Buffer.from(v ?? '', 'base64url');
  const id = Buffer.from([1]);

  const previous = process.env.SOFTHSM2_CONF;
  process.env.SOFTHSM2_CONF = hsm.conf;
  const lib = new pkcs11js.PKCS11();
  lib.load(hsm.modulePath);
  lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    for (const tokenLabel of tokenLabels) {
      const slot = lib.C_GetSlotList(true).find((s) => ckText(lib.C_GetTokenInfo(s).label) === tokenLabel);
      if (!slot) throw new Error(`no token ${tokenLabel}`);
      const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      try {
        lib.C_Login(session, pkcs11js.CKU_USER, hsm.pin);
        lib.C_CreateObject(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_ID, value: id },
          { type: pkcs11js.CKA_LABEL, value: label },
          { type: pkcs11js.CKA_MODULUS, value: b(jwk.n) },
          { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: b(jwk.e) },
          { type: pkcs11js.CKA_PRIVATE_EXPONENT, value: b(jwk.d) },
          { type: pkcs11js.CKA_PRIME_1, value: b(jwk.p) },
          { type: pkcs11js.CKA_PRIME_2, value: b(jwk.q) },
          { type: pkcs11js.CKA_EXPONENT_1, value: b(jwk.dp) },
          { type: pkcs11js.CKA_EXPONENT_2, value: b(jwk.dq) },
          { type: pkcs11js.CKA_COEFFICIENT, value: b(jwk.qi) },
        ]);
        lib.C_CreateObject(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
          { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: false },
          { type: pkcs11js.CKA_ID, value: id },
          { type: pkcs11js.CKA_LABEL, value: label },
          { type: pkcs11js.CKA_SUBJECT, value: Buffer.from(parsed.subjectName.toArrayBuffer()) },
          { type: pkcs11js.CKA_ISSUER, value: Buffer.from(parsed.issuerName.toArrayBuffer()) },
          { type: pkcs11js.CKA_VALUE, value: der },
        ]);
        lib.C_Logout(session);
      } finally {
        lib.C_CloseSession(session);
      }
    }
  } finally {
    lib.C_Finalize();
    lib.close();
    if (previous === undefined) delete process.env.SOFTHSM2_CONF;
    else process.env.SOFTHSM2_CONF = previous;
  }
}
