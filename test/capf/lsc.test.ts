import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createPublicKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import * as asn1 from '@peculiar/asn1-x509';
import { AsnConvert } from '@peculiar/asn1-schema';
import { buildLsc, LSC_EKU } from '../../src/services/capf/lsc';
import { pemIssuer, TokenIssuer, x509Signing, type IssuingKey } from '../../src/services/capf/issuer';
import { keyMismatch, PhoneKeyError, readPhoneKey } from '../../src/services/capf/phone-key';
import { openPkcs11Signer } from '../../src/pkcs11/signer';
import { createSoftHsm, type SoftHsmFixture } from '../helpers/softhsm';
import { issue, issueCaForKey, pem, type Issued } from './pki';

const run = promisify(execFile);
type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;

/**
 * The LSC builder encodes what every LSC of a CA shares once, and only the phone's parts per LSC. The reference
 * is @peculiar/x509's generic X509CertificateGenerator given the same inputs: the two certificates must be the
 * same bytes, for RSA and EC phone keys and RSA, EC and token (SoftHSM) issuing keys; and openssl must verify
 * the LSC through the intermediate.
 */

/** The issuing key, remembering each signature by the bytes signed: an ECDSA signature (random) is then the same for the same TBS. */
function memoised(issuer: IssuingKey): IssuingKey {
  const signatures = new Map<string, Promise<ArrayBuffer>>();
  return {
    certificate: issuer.certificate,
    description: issuer.description,
    algorithm: issuer.algorithm,
    sign(tbs) {
      const key = tbs.toString('hex');
      let signature = signatures.get(key);
      if (!signature) signatures.set(key, (signature = issuer.sign(tbs)));
      return signature;
    },
    close: () => issuer.close(),
  };
}

/** The LSC's subject as its definition says: CN=<device> (UTF8String), then the CA's O, OU, L, ST, C RDNs in that order. */
function expectedSubject(issuerDer: Buffer, device: string): x509.Name {
  const issuerName = AsnConvert.parse(issuerDer, asn1.Certificate).tbsCertificate.subject;
  const cn = new asn1.RelativeDistinguishedName([new asn1.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1.AttributeValue({ utf8String: device }) })]);
  const copied = ['2.5.4.10', '2.5.4.11', '2.5.4.7', '2.5.4.8', '2.5.4.6'].flatMap((oid) => issuerName.filter((rdn) => rdn.some((a) => a.type === oid)));
  return new x509.Name(AsnConvert.serialize(new asn1.Name([cn, ...copied])));
}

/** The same LSC through x509's generic generator, signed by the same (memoised) key. */
async function reference(issuer: IssuingKey, device: string, spki: Buffer, lsc: { serial: string; notBefore: Date; notAfter: Date }): Promise<Buffer> {
  const { crypto, signingKey } = x509Signing(issuer);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: lsc.serial,
      subject: expectedSubject(issuer.certificate, device),
      issuer: new x509.X509Certificate(issuer.certificate).subjectName,
      notBefore: lsc.notBefore,
      notAfter: lsc.notAfter,
      publicKey: spki,
      signingKey: signingKey as never,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([...LSC_EKU], false),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: device }], false),
      ],
    },
    crypto as unknown as X509Crypto,
  );
  return Buffer.from(cert.rawData);
}

const spkiOf = (kind: 'rsa' | 'ec', option: number | string) =>
  (kind === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: option as number }) : generateKeyPairSync('ec', { namedCurve: option as string })).publicKey.export({ type: 'spki', format: 'der' });

describe('capf: the LSC builder', function () {
  this.timeout(120_000);
  let dir: string;
  let root: Issued;
  let rootFile: string;
  const phoneKeys = () => ({
    'RSA 2048': spkiOf('rsa', 2048),
    'EC P-256': spkiOf('ec', 'prime256v1'),
    'EC P-384': spkiOf('ec', 'secp384r1'),
  });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'openctl-capf-lsc-'));
    root = await issue({ subject: 'CN=openctl test root,O=Example,C=FR', ca: true });
    rootFile = (await root.write(dir, 'root')).cert;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Build with every phone key: equal to the reference, and verified by openssl through the intermediate. */
  async function check(issuer: IssuingKey, issuingCertFile: string): Promise<void> {
    let n = 0;
    for (const [what, spki] of Object.entries(phoneKeys())) {
      const device = `SEP00112233${(0x4400 + n++).toString(16).toUpperCase()}`;
      const key = readPhoneKey(spki);
      const lsc = await buildLsc(issuer, { device, publicKey: key.der, days: 30 });
      assert.deepEqual(lsc.der, await reference(issuer, device, spki, lsc), `${issuer.description}, ${what} phone key: the LSC is x509's certificate for the same inputs, byte for byte`);
      const cert = new X509Certificate(lsc.der);
      assert.equal(cert.serialNumber.toLowerCase(), lsc.serial);
      assert.ok(cert.publicKey.export({ type: 'spki', format: 'der' }).equals(spki), 'the phone key, as sent');
      const file = path.join(dir, `${device}.pem`);
      fs.writeFileSync(file, pem('CERTIFICATE', lsc.der));
      const { stdout } = await run('openssl', ['verify', '-CAfile', rootFile, '-untrusted', issuingCertFile, file]);
      assert.match(stdout, /: OK/);
    }
  }

  for (const kind of ['rsa', 'ec'] as const) {
    it(`PEM issuing key (${kind.toUpperCase()}): byte for byte the generator's certificate, for RSA and EC phone keys; openssl verifies it through the intermediate`, async () => {
      const issuing = await issue({ subject: `CN=CAPF ${kind} issuing CA,O=Example Corp,OU=Voice,L=Lyon,ST=ARA,C=FR`, ca: true, issuer: root, kind });
      const files = await issuing.write(dir, `issuing-${kind}`);
      await check(memoised(await pemIssuer(files.bundle)), files.cert);
    });
  }

  it('an issuing CA with none of O, OU, L, ST, C: the subject is CN=<device> alone; RDNs are copied in the LSC order, not the CA\'s', async () => {
    const bare = await issue({ subject: 'CN=bare issuing CA', ca: true, issuer: root });
    const bareFiles = await bare.write(dir, 'bare');
    await check(memoised(await pemIssuer(bareFiles.bundle)), bareFiles.cert);
    const reordered = await issue({ subject: 'C=DE,ST=Bayern,CN=reordered CA,OU=Voice,O=Example', ca: true, issuer: root });
    const files = await reordered.write(dir, 'reordered');
    const issuer = memoised(await pemIssuer(files.bundle));
    await check(issuer, files.cert);
    const lsc = await buildLsc(issuer, { device: 'SEP001122334455', publicKey: spkiOf('ec', 'prime256v1'), days: 1 });
    assert.equal(new X509Certificate(lsc.der).subject, 'CN=SEP001122334455\nO=Example\nOU=Voice\nST=Bayern\nC=DE');
  });

  describe('the issuing key on a SoftHSM token', () => {
    let hsm: SoftHsmFixture;
    let issuer: IssuingKey | undefined;

    after(async () => {
      await issuer?.close();
      hsm?.cleanup();
    });

    it('byte for byte the generator\'s certificate, signed on the token; openssl verifies it through the token CA', async () => {
      hsm = await createSoftHsm({ tokens: [{ label: 'LSC-CA', keys: [{ keyBits: 2048, label: 'issuing', subject: 'CN=token self-signed,O=Example' }] }] });
      hsm.activate();
      const tokenKey = new X509Certificate(hsm.tokens[0]!.keys[0]!.certificate!).publicKey.export({ type: 'spki', format: 'der' });
      const caDer = await issueCaForKey(root, tokenKey, 'CN=Token issuing CA,O=Example Token,OU=Voice,C=DE');
      const caFile = path.join(dir, 'token-ca.crt');
      fs.writeFileSync(caFile, pem('CERTIFICATE', caDer));
      const open = () => openPkcs11Signer('pkcs11:token=LSC-CA', { modules: [hsm.modulePath], env: { OPENCTL_PIN: hsm.pin } });
      issuer = await TokenIssuer.create(open, open, caDer);
      await check(memoised(issuer), caFile);
    });
  });
});

describe('capf: the phone\'s public key', () => {
  it('reads RSA sizes and EC curves as node does, and the SubjectPublicKeyInfo as DER', () => {
    for (const bits of [1024, 2048, 3072]) {
      const spki = spkiOf('rsa', bits);
      const key = readPhoneKey(spki);
      assert.deepEqual({ type: key.type, bits: key.type === 'rsa' ? key.bits : 0 }, { type: 'rsa', bits: createPublicKey({ key: spki, format: 'der', type: 'spki' }).asymmetricKeyDetails!.modulusLength });
      assert.ok(Buffer.from(key.der).equals(spki));
      assert.equal(keyMismatch(key, { type: 'rsa', bits }), undefined);
      assert.match(keyMismatch(key, { type: 'ec', curve: 'P-256' })!, new RegExp(`asked for an EC P-256 key, got an RSA ${bits}-bit key`));
    }
    for (const [curve, openssl] of [['P-256', 'prime256v1'], ['P-384', 'secp384r1'], ['P-521', 'secp521r1']] as const) {
      const key = readPhoneKey(spkiOf('ec', openssl));
      assert.equal(key.type === 'ec' && key.curve, curve);
      assert.equal(keyMismatch(key, { type: 'ec', curve }), undefined);
      assert.match(keyMismatch(key, { type: 'rsa', bits: 2048 })!, new RegExp(`asked for an RSA 2048-bit key, got an EC ${curve} key`));
    }
    // A compressed point is a point too.
    const spki = spkiOf('ec', 'prime256v1');
    const x = spki.subarray(spki.length - 64, spki.length - 32);
    const y = spki.subarray(spki.length - 32);
    const prefix = spki.subarray(0, spki.length - 65);
    const head = Buffer.from(prefix);
    head[1] = head[1]! - 32; // SEQUENCE length
    head[head.length - 2] = head[head.length - 2]! - 32; // BIT STRING length (before its unused-bits byte)
    const compressedSpki = Buffer.concat([head, Buffer.from([0x02 | (y[y.length - 1]! & 1)]), x]);
    assert.equal(createPublicKey({ key: compressedSpki, format: 'der', type: 'spki' }).asymmetricKeyType, 'ec', 'node reads the compressed form');
    assert.equal(readPhoneKey(compressedSpki).type, 'ec');
  });

  it('refuses a point not on the curve, the point at infinity, other curves, other algorithms and garbage, with a reason', () => {
    const refused = (der: Buffer, reason: RegExp) => assert.throws(() => readPhoneKey(der), (err: Error) => err instanceof PhoneKeyError && reason.test(err.message));
    const spki = spkiOf('ec', 'prime256v1');
    const offCurve = Buffer.from(spki);
    offCurve[offCurve.length - 1]! ^= 1; // y + 1: not on the curve
    assert.throws(() => createPublicKey({ key: offCurve, format: 'der', type: 'spki' }), 'OpenSSL refuses it too');
    refused(offCurve, /not a point on the curve/);
    const infinity = Buffer.concat([spki.subarray(0, spki.length - 65), Buffer.from([0x00]), Buffer.alloc(64)]);
    refused(infinity, /not an encoded point/);
    refused(spkiOf('ec', 'secp256k1'), /an EC key on curve 1\.3\.132\.0\.10/);
    refused(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }), /algorithm 1\.3\.101\.112, neither RSA nor EC/);
    refused(Buffer.from('not a key at all'), /not a DER SubjectPublicKeyInfo/);
    refused(spki.subarray(0, 40), /not a DER SubjectPublicKeyInfo/);
  });
});
