import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  decodeVerifyRequest,
  decodeVerifyResponse,
  encodeVerifyRequest,
  encodeVerifyResponse,
  TVS_FRAMING,
} from '../../src/services/tvs/messages';
import { isDerSequence } from '../../src/services/tvs/server';
import { FormatError } from '../../src/util/errors';
import { tvsPki } from './fixture';

const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

// The captured examples of tvs-capf.md, byte for byte (session 0x11223344).
const TRUSTED_CCM_APP_3600 = hex('57 01 02 00 11 22 33 44 00 10 | 07 00 01 00 | 08 00 02 01 07 | 09 00 04 00 00 0e 10');
const NOT_TRUSTED = hex('57 01 02 00 11 22 33 44 00 04 | 07 00 01 01');

describe('TVS wire messages (golden bytes of tvs-capf.md)', () => {
  it('encodes "trusted for CCM and APP-SERVER, TTL 3600" as the captured bytes', () => {
    assert.deepEqual(encodeVerifyResponse({ session: 0x11223344, trusted: true, roles: [1, 7], ttl: 3600 }), TRUSTED_CCM_APP_3600);
  });

  it('encodes "not trusted" as the captured bytes: status 1 and nothing else', () => {
    assert.deepEqual(encodeVerifyResponse({ session: 0x11223344, trusted: false }), NOT_TRUSTED);
  });

  it('decodes the captured answers', () => {
    assert.deepEqual(decodeVerifyResponse(TRUSTED_CCM_APP_3600), { session: 0x11223344, trusted: true, roles: [1, 7], ttl: 3600 });
    assert.deepEqual(decodeVerifyResponse(NOT_TRUSTED), { session: 0x11223344, trusted: false });
  });

  it('writes a verify request as a phone does: header, device name after a 0x01 byte, the DER', async () => {
    const { app } = await tvsPki();
    const bytes = encodeVerifyRequest({ session: 0xdeadbeef, deviceName: 'CP-8845-SEP0011223344AA', certificate: app.certDer });
    const name = Buffer.from('CP-8845-SEP0011223344AA', 'ascii');
    const body = Buffer.concat([
      Buffer.of(0x01, 0x00, name.length + 1, 0x01),
      name,
      Buffer.of(0x02, app.certDer.length >> 8, app.certDer.length & 0xff),
      app.certDer,
    ]);
    const header = Buffer.of(0x57, 0x01, 0x01, 0x00, 0xde, 0xad, 0xbe, 0xef, body.length >> 8, body.length & 0xff);
    assert.deepEqual(bytes, Buffer.concat([header, body]));
    assert.deepEqual(decodeVerifyRequest(bytes), { session: 0xdeadbeef, deviceName: 'CP-8845-SEP0011223344AA', certificate: app.certDer });
  });

  it('skips unknown request elements (later phones may add some)', async () => {
    const { app } = await tvsPki();
    const base = encodeVerifyRequest({ session: 1, deviceName: 'CP-8845-SEP0011223344AA', certificate: app.certDer });
    const extra = hex('63 00 02 ab cd');
    const bytes = Buffer.concat([base, extra]);
    bytes.writeUInt16BE(base.length - 10 + extra.length, 8);
    assert.deepEqual(decodeVerifyRequest(bytes).certificate, app.certDer);
  });

  const refuse = (bytes: Buffer, pattern: RegExp) => assert.throws(() => decodeVerifyRequest(bytes), (e: unknown) => e instanceof FormatError && pattern.test(e.message));

  it('refuses malformed requests with the reason', async () => {
    const { app } = await tvsPki();
    const good = encodeVerifyRequest({ session: 7, deviceName: 'CP-8845-SEP0011223344AA', certificate: app.certDer });
    const flip = (offset: number, value: number) => {
      const b = Buffer.from(good);
      b[offset] = value;
      return b;
    };
    refuse(flip(0, 0x55), /not a TVS message/);
    refuse(flip(1, 2), /version 2/);
    refuse(flip(2, 3), /command 3, expected 1/);
    refuse(good.subarray(0, good.length - 1), /announces/);
    refuse(good.subarray(0, 6), /10-byte header/);
    const noCert = encodeVerifyRequest({ session: 1, deviceName: 'CP-8845-SEP0011223344AA', certificate: Buffer.alloc(0) });
    refuse(noCert, /empty certificate/);
    const twice = Buffer.concat([good, good.subarray(10)]);
    twice.writeUInt16BE((good.length - 10) * 2, 8);
    refuse(twice, /appears twice/);
    // An element whose length overruns the body: the codec names it.
    const overrun = Buffer.from(good);
    overrun.writeUInt16BE(0xfff0, 11);
    refuse(overrun, /overruns the message/);
  });

  it('framing refuses a foreign header before believing its length', () => {
    assert.match(String(TVS_FRAMING.bodyLength(Buffer.from('GET / HTTP/1.1\r\n'))), /not a TVS message/);
    assert.equal(TVS_FRAMING.bodyLength(NOT_TRUSTED), 4);
  });

  it('round-trips any answer and any request (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), fc.integer({ min: 1, max: 2592000 }), (session, roles, ttl) => {
        assert.deepEqual(decodeVerifyResponse(encodeVerifyResponse({ session, trusted: true, roles, ttl })), { session, trusted: true, roles, ttl });
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.uint8Array({ minLength: 1, maxLength: 2000 }), (session, der) => {
        const certificate = Buffer.from(der);
        const bytes = encodeVerifyRequest({ session, deviceName: 'CP-7841-SEP00AABBCCDDEE', certificate });
        assert.deepEqual(decodeVerifyRequest(bytes).certificate, certificate);
      }),
    );
  });

  it('decoding random bytes never throws anything but a FormatError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const decode of [decodeVerifyRequest, decodeVerifyResponse]) {
          try {
            decode(Buffer.from(bytes));
          } catch (err) {
            assert.ok(err instanceof FormatError, String(err));
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('tells DER certificates from garbage without parsing X.509', async () => {
    const { app } = await tvsPki();
    assert.equal(isDerSequence(app.certDer), true);
    assert.equal(isDerSequence(app.certDer.subarray(0, app.certDer.length - 1)), false);
    assert.equal(isDerSequence(Buffer.from('hello world')), false);
    assert.equal(isDerSequence(Buffer.of(0x30, 0x00)), true);
  });
});
