import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import { buildEncryptedConfig, buildEncryptedStub, buildSignedFile, decryptConfig, parseFile, serializeFile, type EncryptedConfig } from '../../src/formats';
import { OpenctlError } from '../../src/util/errors';
import { vector } from '../helpers/paths';
import { certPath, nodeVerifies, readVector, vectorCert } from './support/fixtures';
import { testSigner } from './support/test-signer';

const deviceKey = () => createPrivateKey(fs.readFileSync(vector('certs', 'device-lsc.pem')));
const PLAIN = () => readVector('configs/SEP001122334455.cnf.xml');
const ENC = 'encrypted/SEP001122334455.cnf.xml.enc.sgn';
// The vector's AES key as the device key unwraps it, and its IV (tag 19): used to rebuild its ciphertext.
const VECTOR_AES_KEY = Buffer.from('22b44fdbb714a587a158015c5dd0a228', 'hex');
const VECTOR_IV = Buffer.from('f99210c321d089f2475f0e403e4eb4c8', 'hex');

describe('formats: encrypted configs', () => {
  const tftp = testSigner(certPath('ccm-tftp.pem'));

  it('reads the vector: header 2.0 with tags 16{17{18,19,20},21{22,23,24,25}}, 26, 27 after 15', () => {
    const parsed = parseFile(readVector(ENC)) as EncryptedConfig;
    assert.equal(parsed.kind, 'encrypted');
    const top = parsed.header.elements.map((e) => e.tag);
    assert.deepEqual(top, [1, 2, 3, 7, 12, 14, 15, 16, 26, 27, 13, 13, 13]);
    const info = parsed.header.elements.find((e) => e.tag === 16)!;
    assert.deepEqual(info.children!.map((e) => [e.tag, e.children!.map((c) => c.tag)]), [[17, [18, 19, 20]], [21, [22, 23, 24, 25]]]);
    const enc = parsed.header.encryption!;
    assert.deepEqual([enc.padCount, enc.keyBits, enc.keyAlgorithm, enc.plaintextHash], [8, 2048, 1, 'sha512']);
    assert.ok(enc.iv.equals(VECTOR_IV));
    assert.equal(parsed.ciphertext.length, 992);
  });

  it('decrypts the vector to the plain config beside it (digest over the unpadded plaintext)', () => {
    const parsed = parseFile(readVector(ENC)) as EncryptedConfig;
    assert.ok(decryptConfig(parsed, deviceKey()).equals(PLAIN()));
  });

  it('refuses the wrong device key and a damaged plaintext digest', () => {
    const parsed = parseFile(readVector(ENC)) as EncryptedConfig;
    const wrongKey = createPrivateKey(fs.readFileSync(vector('certs', 'sast-a.pem')));
    assert.throws(() => decryptConfig(parsed, wrongKey), (e: unknown) => e instanceof OpenctlError && /does not unwrap/.test(e.message));
    const damaged = Buffer.from(readVector(ENC));
    damaged[parsed.header.elements.find((e) => e.tag === 27)!.offset + 3] ^= 1;
    assert.throws(() => decryptConfig(parseFile(damaged) as EncryptedConfig, deviceKey()), (e: unknown) => e instanceof OpenctlError && /digest \(tag 27\)/.test(e.message));
  });

  it("rebuilds the vector's ciphertext and digest from its key and IV", async () => {
    const vectorParsed = parseFile(readVector(ENC)) as EncryptedConfig;
    const built = parseFile(
      await buildEncryptedConfig({
        plaintext: PLAIN(),
        filename: 'SEP001122334455.cnf.xml.enc.sgn',
        signer: tftp,
        deviceCertificate: vectorCert('device-lsc.pem'),
        hash: 'sha512',
        timestamp: vectorParsed.header.timestamp,
        aesKey: VECTOR_AES_KEY,
        iv: VECTOR_IV,
      }),
    ) as EncryptedConfig;
    assert.ok(built.ciphertext.equals(vectorParsed.ciphertext));
    assert.ok(built.header.encryption!.plaintextDigest.equals(vectorParsed.header.encryption!.plaintextDigest));
    assert.equal(built.header.headerLength, vectorParsed.header.headerLength);
    assert.ok(nodeVerifies(built, vectorCert('ccm-tftp.pem')));
  });

  for (const size of [0, 1, 15, 16, 17, 984, 4096]) {
    it(`encrypt -> decrypt round trip, ${size}-byte plaintext`, async () => {
      const plaintext = Buffer.alloc(size, 'x');
      const bytes = await buildEncryptedConfig({ plaintext, filename: 'SEPAABBCCDDEEFF.cnf.xml.enc.sgn', signer: tftp, deviceCertificate: vectorCert('device-lsc.pem') });
      const parsed = parseFile(bytes) as EncryptedConfig;
      assert.equal(parsed.header.encryption!.padCount, 16 - (size % 16), "1 to 16 pad bytes, a whole block for multiples of 16 (issue 10 item 18)");
      assert.equal(parsed.ciphertext.length % 16, 0);
      assert.ok(decryptConfig(parsed, deviceKey()).equals(plaintext));
      assert.ok(nodeVerifies(parsed, vectorCert('ccm-tftp.pem')));
      assert.ok(serializeFile(parsed).equals(bytes));
    });
  }

  it('refuses an EC device certificate and a bad AES key size', async () => {
    const base = { plaintext: Buffer.from('x'), filename: 'a.enc.sgn', signer: tftp };
    await assert.rejects(buildEncryptedConfig({ ...base, deviceCertificate: vectorCert('tvs-ec.pem') }), /RSA keys only/);
    await assert.rejects(buildEncryptedConfig({ ...base, deviceCertificate: vectorCert('device-lsc.pem'), aesKey: Buffer.alloc(8) }), /16 bytes/);
  });
});

describe('formats: the signed stub beside an encrypted config', () => {
  const STUB = 'encrypted/SEP001122334455.cnf.xml.sgn';

  it("reproduces the vector stub's body from the source config and the device certificate", () => {
    const stub = parseFile(readVector(STUB));
    assert.equal(stub.kind, 'signed');
    const body = buildEncryptedStub(PLAIN().toString('utf8'), vectorCert('device-lsc.pem'));
    assert.equal(body, stub.kind === 'signed' ? stub.body.toString('utf8') : '');
    assert.match(body, /<certHash>1139775c59460e05c210f831f1f9dc9c<\/certHash>/);
  });

  it('the vector stub is a SHA-512 signed file by the TFTP certificate', () => {
    const stub = parseFile(readVector(STUB));
    assert.equal(stub.header.hash, 'sha512');
    assert.equal(stub.header.filename, 'SEP001122334455.cnf.xml.sgn');
    assert.ok(nodeVerifies(stub, vectorCert('ccm-tftp.pem')));
  });

  it('signs a stub like any file', async () => {
    const body = Buffer.from(buildEncryptedStub(PLAIN().toString('utf8'), vectorCert('device-lsc.pem')));
    const signed = parseFile(await buildSignedFile({ body, filename: 'SEP001122334455.cnf.xml.sgn', signer: testSigner(certPath('ccm-tftp.pem')), hash: 'sha512' }));
    assert.ok(signed.kind === 'signed' && signed.body.equals(readVector(STUB).subarray(448)));
  });

  it('leaves out what the source config lacks, and re-indents nested elements', () => {
    const source = '<device><capfAuthMode>1</capfAuthMode><capfList><capf><phonePort>3804</phonePort></capf><capf><phonePort>3805</phonePort></capf></capfList></device>';
    assert.equal(
      buildEncryptedStub(source, vectorCert('device-lsc.pem')),
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<device>',
        '  <fullConfig>false</fullConfig>',
        '  <capfAuthMode>1</capfAuthMode>',
        '  <capfList>',
        '    <capf>',
        '      <phonePort>3804</phonePort>',
        '    </capf>',
        '    <capf>',
        '      <phonePort>3805</phonePort>',
        '    </capf>',
        '  </capfList>',
        '  <certHash>1139775c59460e05c210f831f1f9dc9c</certHash>',
        '  <encrConfig>true</encrConfig>',
        '</device>',
        '',
      ].join('\n'),
    );
  });
});
