import { X509Certificate } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { TokenError } from '../util/errors';
import type { Handle, Template } from './cryptoki';
import type { TokenState } from './token-state';
import { attrBuffer, attrNumber, keyTypeName } from './tokens';
import type { Pkcs11Uri } from './uri';

export interface CertificateObject {
  handle: Handle;
  id: Buffer;
  label: string;
  der: Buffer;
}

export interface PrivateKeyObject {
  handle: Handle;
  id: Buffer;
  label: string;
  keyType: number;
  /** CKA_MODULUS when the token reveals it (most do: it is public). */
  modulus?: Buffer;
}

function selector(uri: Pkcs11Uri, cls: number, labelApplies: boolean): Template {
  const template: Template = [{ type: pkcs11js.CKA_CLASS, value: cls }];
  if (uri.id !== undefined) template.push({ type: pkcs11js.CKA_ID, value: uri.id });
  if (uri.object !== undefined && labelApplies) template.push({ type: pkcs11js.CKA_LABEL, value: uri.object });
  return template;
}

function idLabel(token: TokenState, session: Handle, handle: Handle): { id: Buffer; label: string } {
  const [id, label] = token.ck.getAttributes(session, handle, [pkcs11js.CKA_ID, pkcs11js.CKA_LABEL]);
  return { id: attrBuffer(id.value), label: attrBuffer(label.value).toString('utf8') };
}

/** X.509 certificates the URI selects (by object label and/or id; `type=private` selects none). */
export function findCertificates(token: TokenState, uri: Pkcs11Uri): CertificateObject[] {
  const session = token.session();
  const template = selector(uri, pkcs11js.CKO_CERTIFICATE, true);
  template.push({ type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 });
  return token.ck.findObjects(session, template).map((handle) => {
    const [value] = token.ck.getAttributes(session, handle, [pkcs11js.CKA_VALUE]);
    return { handle, ...idLabel(token, session, handle), der: attrBuffer(value.value) };
  });
}

/** Private keys the URI selects; only visible after login on most tokens. */
export function findPrivateKeys(token: TokenState, uri: Pkcs11Uri): PrivateKeyObject[] {
  const session = token.session();
  return token.ck.findObjects(session, selector(uri, pkcs11js.CKO_PRIVATE_KEY, true)).map((handle) => {
    const [type] = token.ck.getAttributes(session, handle, [pkcs11js.CKA_KEY_TYPE]);
    const keyType = attrNumber(type.value);
    let modulus: Buffer | undefined;
    if (keyType === pkcs11js.CKK_RSA) {
      try {
        modulus = attrBuffer(token.ck.getAttributes(session, handle, [pkcs11js.CKA_MODULUS])[0].value);
      } catch {
        modulus = undefined;
      }
    }
    return { handle, ...idLabel(token, session, handle), keyType, modulus };
  });
}

/** A certificate and the private key under the same CKA_ID. */
export interface KeyPairObjects {
  id: Buffer;
  certificate: CertificateObject;
  privateKey: PrivateKeyObject;
}

function describeObject(kind: string, label: string, id: Buffer): string {
  return `${kind}${label ? ` '${label}'` : ''} (id ${id.length > 0 ? id.toString('hex') : 'empty'})`;
}

/**
 * The certificate/private-key pair a URI names on a logged-in token. The object label may be the
 * certificate's or the key's (eTokens often label them differently); the pair is made by CKA_ID.
 */
export function selectKeyPair(token: TokenState, uri: Pkcs11Uri): KeyPairObjects {
  const where = `token ${token.label}`;
  if (uri.type !== undefined && uri.type !== 'cert' && uri.type !== 'private') {
    throw new TokenError(`${where}: a signer is a certificate/private-key pair, not type=${uri.type}`);
  }
  const certsByUri = uri.type === 'private' ? [] : findCertificates(token, uri);
  const keysByUri = uri.type === 'cert' ? [] : findPrivateKeys(token, uri);
  const ids = new Map<string, Buffer>();
  for (const obj of [...certsByUri, ...keysByUri]) ids.set(obj.id.toString('hex'), obj.id);

  const pairs: KeyPairObjects[] = [];
  const certsWithoutKey: CertificateObject[] = [];
  const keysWithoutCert: PrivateKeyObject[] = [];
  for (const id of ids.values()) {
    const byId: Pkcs11Uri = { id };
    const certs = certsByUri.filter((c) => c.id.equals(id));
    const cert = certs[0] ?? findCertificates(token, byId)[0];
    const key = keysByUri.find((k) => k.id.equals(id)) ?? findPrivateKeys(token, byId)[0];
    if (cert && key) pairs.push({ id, certificate: cert, privateKey: key });
    else if (cert) certsWithoutKey.push(cert);
    else if (key) keysWithoutCert.push(key);
  }

  if (pairs.length === 1) return checkPair(token, pairs[0]);
  if (pairs.length > 1) {
    const names = pairs.sort((a, b) => Buffer.compare(a.id, b.id)).map((p) => describeObject('', p.certificate.label, p.id).trim());
    throw new TokenError(`${where} holds ${pairs.length} matching certificate/key pairs: ${names.join(', ')}; name one with object= or id=`);
  }
  if (certsWithoutKey.length > 0) {
    const c = certsWithoutKey[0];
    throw new TokenError(`${where}: ${describeObject('certificate', c.label, c.id)} has no private key under the same id`);
  }
  if (keysWithoutCert.length > 0) {
    const k = keysWithoutCert[0];
    throw new TokenError(
      `${where}: ${describeObject('private key', k.label, k.id)} has no certificate under the same id (the file header needs it)`,
    );
  }
  const asked = uri.object !== undefined || uri.id !== undefined ? ' matching the URI' : '';
  throw new TokenError(`${where} holds no certificate/key pair${asked}`);
}

const SIGNING_BITS = [1024, 2048, 4096];

/** RSA only, and a size the header can express; the key must belong to the certificate. */
function checkPair(token: TokenState, pair: KeyPairObjects): KeyPairObjects {
  const what = `token ${token.label}: ${describeObject('key', pair.certificate.label || pair.privateKey.label, pair.id)}`;
  if (pair.privateKey.keyType !== pkcs11js.CKK_RSA) {
    throw new TokenError(`${what} is ${keyTypeName(pair.privateKey.keyType)}; Cisco files are signed with RSA only`);
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pair.certificate.der);
  } catch {
    throw new TokenError(`${what}: the certificate on the token is not readable X.509`);
  }
  const publicKey = cert.publicKey;
  if (publicKey.asymmetricKeyType !== 'rsa') {
    throw new TokenError(`${what}: the certificate holds a ${publicKey.asymmetricKeyType ?? 'non-RSA'} key; Cisco files are signed with RSA only`);
  }
  const bits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!SIGNING_BITS.includes(bits)) {
    throw new TokenError(`${what} is RSA ${bits} bits; the file header can only express 1024, 2048 or 4096`);
  }
  if (pair.privateKey.modulus && pair.privateKey.modulus.length > 0) {
    const jwkN = Buffer.from(publicKey.export({ format: 'jwk' }).n as string, 'base64url');
    if (!stripZeros(jwkN).equals(stripZeros(pair.privateKey.modulus))) {
      throw new TokenError(`${what}: the private key does not belong to the certificate under the same id`);
    }
  }
  return pair;
}

function stripZeros(buf: Buffer): Buffer {
  let i = 0;
  while (i < buf.length - 1 && buf[i] === 0) i += 1;
  return buf.subarray(i);
}

/** The one certificate a URI names (no login needed): for `--sast pkcs11:...`. */
export function selectCertificate(token: TokenState, uri: Pkcs11Uri): CertificateObject {
  const where = `token ${token.label}`;
  if (uri.type !== undefined && uri.type !== 'cert') {
    throw new TokenError(`${where}: a certificate source needs type=cert (or no type), not type=${uri.type}`);
  }
  let certs = findCertificates(token, uri);
  if (certs.length === 0 && uri.object !== undefined && uri.type === undefined) {
    // The label may be the key's: pair through CKA_ID via any public key with that label.
    const session = token.session();
    const publics = token.ck.findObjects(session, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
      { type: pkcs11js.CKA_LABEL, value: uri.object },
    ]);
    for (const handle of publics) certs.push(...findCertificates(token, { id: idLabel(token, session, handle).id }));
  }
  const distinct = new Map<string, CertificateObject>();
  for (const c of certs) distinct.set(c.der.toString('base64'), c);
  certs = [...distinct.values()];
  if (certs.length === 1) return certs[0];
  if (certs.length === 0) {
    const asked = uri.object !== undefined || uri.id !== undefined ? ' matching the URI' : '';
    throw new TokenError(`${where} holds no certificate${asked}`);
  }
  const names = certs.sort((a, b) => Buffer.compare(a.id, b.id)).map((c) => describeObject('', c.label, c.id).trim());
  throw new TokenError(`${where} holds ${certs.length} certificates: ${names.join(', ')}; name one with object= or id=`);
}
