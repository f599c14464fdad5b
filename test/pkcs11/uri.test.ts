import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  formatPkcs11Uri,
  parsePkcs11Uri,
  percentDecode,
  percentEncode,
  redactPinValue,
  uriMatchesToken,
  type Pkcs11Uri,
} from '../../src/pkcs11/uri';
import { ExitCode, OpenctlError } from '../../src/util/errors';
import { runCliCaptured } from '../helpers/run-cli';
import { vector } from '../helpers/paths';

describe('pkcs11 URI (RFC 7512)', () => {
  it('parses the examples of RFC 7512 section 3', () => {
    assert.deepEqual(parsePkcs11Uri('pkcs11:'), {});
    assert.deepEqual(parsePkcs11Uri('pkcs11:object=my-pubkey;type=public'), { object: 'my-pubkey', type: 'public' });
    const full = parsePkcs11Uri(
      'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=',
    );
    assert.equal(full.token, 'The Software PKCS#11 Softtoken');
    assert.equal(full.manufacturer, 'Snake Oil, Inc.');
    assert.equal(full.model, '1.0');
    assert.equal(full.object, 'my-certificate');
    assert.equal(full.type, 'cert');
    assert.deepEqual(full.id, Buffer.from('69953e5cf4bdec91', 'hex'));
    assert.equal(full.serial, '');
    const lib = parsePkcs11Uri('pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23');
    assert.deepEqual(lib.libraryVersion, { major: 1, minor: 23 });
    assert.equal(lib.libraryDescription, 'Soft Token Library');
    const q = parsePkcs11Uri('pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-source=file:/etc/token_pin');
    assert.equal(q.pinSource, 'file:/etc/token_pin');
    const mod = parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-name=mypkcs11');
    assert.equal(mod.moduleName, 'mypkcs11');
    const path = parsePkcs11Uri('pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1');
    assert.equal(path.modulePath, '/mnt/libmypkcs11.so.1');
    assert.equal(parsePkcs11Uri('pkcs11:token=Web%20Server;object=web-server?x-pin-policy=none').vendorQuery?.['x-pin-policy'], 'none');
    assert.equal(parsePkcs11Uri('pkcs11:token=A;x-vendor-attr=foo%20bar').vendorPath?.['x-vendor-attr'], 'foo bar');
    assert.equal(parsePkcs11Uri('pkcs11:token=%E2%82%AC').token, '€');
  });

  it('parses the brief\'s forms and the slot attributes', () => {
    const uri = parsePkcs11Uri('pkcs11:token=eToken-A;object=SAST?module-path=/usr/lib/softhsm/libsofthsm2.so');
    assert.deepEqual(uri, { token: 'eToken-A', object: 'SAST', modulePath: '/usr/lib/softhsm/libsofthsm2.so' });
    assert.deepEqual(parsePkcs11Uri('PKCS11:token=eToken-B'), { token: 'eToken-B' });
    const slot = parsePkcs11Uri('pkcs11:slot-id=1364035986;slot-description=SoftHSM%20slot;slot-manufacturer=SoftHSM%20project');
    assert.equal(slot.slotId, 1364035986);
    assert.equal(slot.slotDescription, 'SoftHSM slot');
    assert.equal(slot.slotManufacturer, 'SoftHSM project');
    assert.deepEqual(parsePkcs11Uri('pkcs11:library-version=3').libraryVersion, { major: 3, minor: 0 });
    // People paste labels with spaces: accepted as typed.
    assert.equal(parsePkcs11Uri('pkcs11:token=My Token').token, 'My Token');
  });

  it('refuses pin-value with a one-line reason and never echoes the PIN', () => {
    for (const text of ['pkcs11:token=A?pin-value=123456', 'pkcs11:token=A?module-path=/x.so&pin-value=123456']) {
      assert.throws(
        () => parsePkcs11Uri(text),
        (err: unknown) =>
          err instanceof OpenctlError &&
          err.exitCode === ExitCode.BadInput &&
          /pin-value/.test(err.message) &&
          /OPENCTL_PIN/.test(err.message) &&
          !err.message.includes('123456') &&
          !err.message.includes('\n'),
      );
    }
    // Even when another error comes first, the PIN is not repeated.
    assert.throws(() => parsePkcs11Uri('pkcs11:label=x?pin-value=987654'), (err: Error) => !err.message.includes('987654'));
  });

  it('masks a PIN in the path form (;pin-value=), any letter case or percent-encoding, in every message', async () => {
    const forms = [
      'pkcs11:token=A;pin-value=S3cr3t-PIN',
      'pkcs11:pin-value=S3cr3t-PIN;token=A',
      'pkcs11:token=A;Pin-Value=S3cr3t-PIN?module-path=/x.so',
      'pkcs11:token=A;pin%2Dvalue=S3cr3t-PIN',
      'pkcs11:label=typo;pin-value=S3cr3t-PIN',
      'pkcs11:token=A;pin-value=S3cr3t-PIN;token=B',
    ];
    for (const text of forms) {
      assert.throws(
        () => parsePkcs11Uri(text),
        (err: unknown) => err instanceof OpenctlError && err.exitCode === ExitCode.BadInput && !err.message.includes('S3cr3t') && !err.message.includes('\n'),
        text,
      );
      // Through the CLI: the one line on stderr holds no PIN either.
      const r = await runCliCaptured(['sign', vector('configs/Ringlist.xml.sgn'), '--signer', text]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(!r.stderr.includes('S3cr3t') && !r.stdout.includes('S3cr3t'), r.stderr);
      assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    }
    assert.equal(redactPinValue('pkcs11:token=A;pin-value=1234: no token'), 'pkcs11:token=A;pin-value=***: no token');
  });

  it('refuses malformed URIs with the reason', () => {
    const cases: Array<[string, RegExp]> = [
      ['token=A', /start with "pkcs11:"/],
      ['pkcs11:label=SAST', /unknown attribute "label".*object=/],
      ['pkcs11:token=A;token=B', /"token" appears twice/],
      ['pkcs11:token', /not name=value/],
      ['pkcs11:=x', /not name=value/],
      ['pkcs11:token=%G1', /bad percent-encoding/],
      ['pkcs11:token=%4', /bad percent-encoding/],
      ['pkcs11:type=key', /type must be one of/],
      ['pkcs11:slot-id=0x10', /slot-id must be a decimal/],
      ['pkcs11:library-version=1.2.3', /library-version/],
      ['pkcs11:token=A?module-dir=/x', /unknown query attribute/],
      ['pkcs11:token=%FF', /not UTF-8/],
      ['pkcs11:token=A?module-path=', /module-path is empty/],
    ];
    for (const [text, reason] of cases) {
      assert.throws(() => parsePkcs11Uri(text), (err: unknown) => err instanceof OpenctlError && reason.test(err.message), text);
    }
  });

  it('formats with percent-encoding and ids byte by byte', () => {
    const uri: Pkcs11Uri = { token: 'eToken A;1', object: 'SAST?', id: Buffer.from([1, 0xab]), modulePath: '/opt/x y/lib.so', pinSource: 'file:/run/pin' };
    assert.equal(formatPkcs11Uri(uri), 'pkcs11:token=eToken%20A%3B1;object=SAST%3F;id=%01%AB?module-path=/opt/x%20y/lib.so&pin-source=file:/run/pin');
    assert.equal(formatPkcs11Uri(uri, { query: false }), 'pkcs11:token=eToken%20A%3B1;object=SAST%3F;id=%01%AB');
    assert.equal(percentEncode('a&b', true), 'a%26b');
    assert.equal(percentEncode('a/b'), 'a%2Fb');
    assert.equal(percentEncode('a/b', true), 'a/b');
  });

  it('round-trips any attribute values (property)', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 40 });
    const arb = fc.record(
      {
        token: text,
        manufacturer: text,
        serial: text,
        model: text,
        object: text,
        slotId: fc.nat(),
        type: fc.constantFrom('cert' as const, 'private' as const, 'public' as const, 'secret-key' as const, 'data' as const),
        id: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
        libraryVersion: fc.record({ major: fc.nat(99), minor: fc.nat(99) }, { noNullPrototype: true }),
        modulePath: text.filter((s) => s.length > 0),
        pinSource: text,
      },
      { requiredKeys: [], noNullPrototype: true },
    );
    fc.assert(
      fc.property(arb, (uri) => {
        assert.deepEqual(parsePkcs11Uri(formatPkcs11Uri(uri)), uri);
      }),
      { numRuns: 500 },
    );
  });

  it('percent-decodes to raw bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        assert.deepEqual(percentDecode(percentEncode(Buffer.from(bytes), false, true), 'x'), Buffer.from(bytes));
        assert.deepEqual(percentDecode(percentEncode(Buffer.from(bytes)), 'x'), Buffer.from(bytes));
      }),
    );
  });

  it('matches token attributes exactly', () => {
    const token = { label: 'eToken-A', manufacturer: 'SafeNet, Inc.', serial: '0123abcd', model: 'eToken' };
    assert.ok(uriMatchesToken(parsePkcs11Uri('pkcs11:'), token));
    assert.ok(uriMatchesToken(parsePkcs11Uri('pkcs11:token=eToken-A;serial=0123abcd'), token));
    assert.ok(uriMatchesToken(parsePkcs11Uri('pkcs11:manufacturer=SafeNet,%20Inc.;model=eToken'), token));
    assert.ok(!uriMatchesToken(parsePkcs11Uri('pkcs11:token=eToken-a'), token));
    assert.ok(!uriMatchesToken(parsePkcs11Uri('pkcs11:token=eToken-A;serial=x'), token));
  });
});
