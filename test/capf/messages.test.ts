import { strict as assert } from 'node:assert';
import { generateKeyPairSync } from 'node:crypto';
import {
  authRequest,
  authResponse,
  CapfCommand,
  decodeMessage,
  encodeMessage,
  endSession,
  keyGenRequest,
  keyGenResponse,
  parseAuthResponse,
  parseKeyGenRequest,
  phoneResponse,
  readCertificate,
  simpleMessage,
  storeCertRequest,
} from '../../src/services/capf/messages';

/** The example of tvs-capf.md, byte for byte (`s` = session 0x11223344). */
const S = 0x11223344;
const s = '11223344';
const hex = (h: string) => Buffer.from(h.replace(/[^0-9a-f]/gi, ''), 'hex');
const ascii = (t: string) => Buffer.from(t, 'latin1').toString('hex');

describe('capf: wire messages (golden bytes from tvs-capf.md)', () => {
  it('auth request {7: 3, 8: 0}', () => {
    const bytes = encodeMessage(authRequest(S));
    assert.deepEqual(bytes, hex(`55 01 ${s} 0008 | 07 0001 03 | 08 0001 00`));
    assert.deepEqual(decodeMessage(bytes), { ...authRequest(S), elements: decodeMessage(bytes).elements });
  });

  it('auth response: reason, version, password "1234", device name', () => {
    const bytes = encodeMessage(authResponse(S, { device: 'SEP0011223344BB', password: '1234' }));
    assert.deepEqual(bytes, hex(`55 02 ${s} 0023 | 01 0001 01 | 07 0001 03 | 0b 0005 ${ascii('1234')}00 | 0d 0010 ${ascii('SEP0011223344BB')}00`));
    const parsed = parseAuthResponse(decodeMessage(bytes));
    assert.equal(parsed.device, 'SEP0011223344BB');
    assert.equal(parsed.password, '1234');
    assert.equal(parsed.version, 3);
    assert.equal(parsed.certificate, undefined);
  });

  it('key-generate request for EC curve 0 (P-256), and RSA with a key size', () => {
    const ec = encodeMessage(keyGenRequest(S, { type: 'ec', curve: 'P-256' }));
    assert.deepEqual(ec, hex(`55 03 ${s} 0008 | 11 0001 01 | 12 0001 00`));
    assert.deepEqual(parseKeyGenRequest(decodeMessage(ec)), { type: 'ec', curve: 'P-256' });
    const rsa = encodeMessage(keyGenRequest(S, { type: 'rsa', bits: 2048 }));
    assert.deepEqual(rsa, hex(`55 03 ${s} 0009 | 11 0001 00 | 0a 0002 0800`));
    assert.deepEqual(parseKeyGenRequest(decodeMessage(rsa)), { type: 'rsa', bits: 2048 });
  });

  it('request in progress, key-generate response with a P-256 SPKI (91 bytes)', () => {
    assert.deepEqual(encodeMessage(simpleMessage(CapfCommand.InProgress, S)), hex(`55 11 ${s} 0000`));
    const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
    assert.equal(spki.length, 0x5b);
    const bytes = encodeMessage(keyGenResponse(S, spki));
    assert.deepEqual(bytes.subarray(0, 11), hex(`55 04 ${s} 005e | 09 005b`));
    assert.deepEqual(bytes.subarray(11), spki);
  });

  it('store-certificate request: 03 = 1, 04 = 01 | DER length + 2 | 00 01 | DER', () => {
    const der = Buffer.alloc(789, 0xab); // the example's LSC length: the framing does not read the DER
    const bytes = encodeMessage(storeCertRequest(S, der));
    assert.deepEqual(bytes.subarray(0, 20), hex(`55 09 ${s} 0321 | 03 0001 01 | 04 031a 01 0317 00 01`));
    assert.equal(bytes.length, 8 + 0x321);
    assert.deepEqual(readCertificate(decodeMessage(bytes)), der);
  });

  it('store response and end session, reason 1', () => {
    assert.deepEqual(encodeMessage(phoneResponse(CapfCommand.StoreCertResponse, S, 1)), hex(`55 0a ${s} 0004 | 01 0001 01`));
    assert.deepEqual(encodeMessage(endSession(S, 1)), hex(`55 0f ${s} 0004 | 01 0001 01`));
  });

  it('refuses what is not a whole CAPF message, naming the problem', () => {
    assert.throws(() => decodeMessage(hex('57 01 02 00 11 22 33 44 00 00')), /not a CAPF message \(first byte 0x57/);
    assert.throws(() => decodeMessage(hex(`55 0f ${s} 0005 | 01 0001 01`)), /body length 5 but 4 bytes follow/);
    assert.throws(() => decodeMessage(hex(`55 0f ${s} 0004 | 01 0009 01`)), /overruns the EndSession body/);
    assert.throws(() => readCertificate(decodeMessage(hex(`55 0c ${s} 0008 | 04 0005 01 0009 00 01`))), /certificate element is not/);
    assert.throws(() => parseAuthResponse(decodeMessage(hex(`55 02 ${s} 0004 | 01 0001 01`))), /device name \(tag 13\) is missing/);
  });
});
