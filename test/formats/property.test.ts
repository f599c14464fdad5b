import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  buildTrustList,
  formatDn,
  hashRecord,
  parseDn,
  parseFile,
  parseTrustList,
  recordFromSpec,
  sameDn,
  serializeFile,
  stubRecord,
  type DnStyle,
  type RecordSpec,
  type TrustRecord,
} from '../../src/formats';
import { certificateInfo } from '../../src/crypto/certificate';
import type { HashAlgorithm } from '../../src/crypto/hash';
import { FormatError } from '../../src/util/errors';
import { VECTOR_FILES, certPath, nodeVerifies, readVector, vectorCert } from './support/fixtures';
import { testSigner } from './support/test-signer';

const CERTS = ['sast-a.pem', 'sast-b.pem', 'ccm-tftp.pem', 'ccm.pem', 'capf.pem', 'tvs-ec.pem', 'tftp-4096.pem', 'itlrecovery.pem'].map(vectorCert);

type Spec =
  | { type: 'cert'; role: number; cert: number; dnsName?: string; ipv4?: string; extra?: { tag: number; value: Uint8Array } }
  | { type: 'stub'; role: number; ipv4?: string; dnsName?: string }
  | { type: 'hash'; role: number; cert: number; hash: HashAlgorithm; dnsName?: string };

const dnsName = fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined });
const ipv4 = fc.option(fc.ipV4(), { nil: undefined });
const role = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 7, 21), fc.integer({ min: 0, max: 0xffff }));
const hash = fc.constantFrom<HashAlgorithm>('sha1', 'sha256', 'sha512');
const spec: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ type: fc.constant('cert' as const), role, cert: fc.nat(CERTS.length - 1), dnsName, ipv4, extra: fc.option(fc.record({ tag: fc.integer({ min: 13, max: 255 }), value: fc.uint8Array({ maxLength: 32 }) }), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('stub' as const), role, ipv4, dnsName }) },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('hash' as const), role, cert: fc.nat(CERTS.length - 1), hash, dnsName }) },
);

function toRecord(s: Spec, dnStyle: DnStyle): RecordSpec | TrustRecord {
  if (s.type === 'stub') return stubRecord(s);
  if (s.type === 'hash') return hashRecord({ role: s.role, certificate: CERTS[s.cert]!, hash: s.hash, dnsName: s.dnsName }, { dnStyle });
  const r: RecordSpec = { role: s.role, certificate: CERTS[s.cert]! };
  if (s.dnsName !== undefined) r.dnsName = s.dnsName;
  if (s.ipv4 !== undefined) r.ipv4 = s.ipv4;
  return s.extra ? recordFromSpec(r, { dnStyle, extraElements: [{ tag: s.extra.tag, value: Buffer.from(s.extra.value) }] }) : r;
}

describe('formats: properties (fast-check)', () => {
  const signer = testSigner(certPath('sast-a.pem'));

  it('random trust lists: build -> parse gives back every field, and serialize(parse(x)) = x', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          kind: fc.constantFrom<'ctl' | 'itl'>('ctl', 'itl'),
          hash,
          dnStyle: fc.constantFrom<DnStyle>('comma', 'cucm'),
          minor: fc.constantFrom(0, 1),
          timestamp: fc.integer({ min: 0, max: 0xffffffff }),
          specs: fc.array(spec, { maxLength: 8 }),
        }),
        async ({ kind, hash: h, dnStyle, minor, timestamp, specs }) => {
          const filename = kind === 'ctl' ? 'CTLFile.tlv' : 'ITLFile.tlv';
          const records = specs.map((s) => toRecord(s, dnStyle));
          const bytes = await buildTrustList({ kind, filename, signer, hash: h, dnStyle, signerVersion: { major: 1, minor }, timestamp, records });
          const list = parseTrustList(bytes);
          assert.equal(list.kind, kind);
          assert.deepEqual([list.header.hash, list.header.timestamp, list.header.signerVersion], [h, timestamp, { major: 1, minor }]);
          assert.equal(list.header.headerLength % 4, 0);
          assert.ok(serializeFile(list).equals(bytes));
          assert.ok(nodeVerifies(list, Buffer.from(signer.certificate)));
          const signerAdded = !specs.some((s) => s.type === 'cert' && s.role === 0 && s.cert === 0);
          const got = signerAdded ? list.records.slice(1) : list.records;
          if (signerAdded) assert.ok(list.records[0]!.role === 0 && list.records[0]!.certificate!.equals(CERTS[0]!));
          assert.equal(got.length, specs.length);
          specs.forEach((s, i) => {
            const r = got[i]!;
            assert.equal(r.role, s.role);
            assert.equal(r.dnsName, s.dnsName ?? (s.type === 'stub' ? (s.ipv4 ?? '') : ''));
            if (s.type !== 'hash') assert.equal(r.ipv4, s.ipv4);
            if (s.type === 'stub') {
              assert.deepEqual(r.elements.map((e) => e.tag), s.ipv4 ? [1, 2, 4, 10] : [1, 2, 4]);
              return;
            }
            const info = certificateInfo(CERTS[s.cert]!);
            assert.ok(sameDn(r.subject!, info.subject));
            assert.ok(sameDn(r.issuer!, info.issuer));
            assert.ok(r.serial!.equals(info.serial));
            if (s.type === 'hash') assert.equal(r.certHash!.length, { sha1: 20, sha256: 32, sha512: 64 }[s.hash]);
            else assert.ok(r.certificate!.equals(CERTS[s.cert]!));
            if (s.type === 'cert' && s.extra) assert.ok(r.elements[r.elements.length - 1]!.value.equals(s.extra.value));
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('any single-byte mutation of a vector parses (and then round-trips) or fails with a FormatError', () => {
    const vectors = VECTOR_FILES.map(readVector);
    fc.assert(
      fc.property(fc.nat(vectors.length - 1), fc.nat(), fc.integer({ min: 0, max: 255 }), (v, at, value) => {
        const bytes = Buffer.from(vectors[v]!);
        bytes[at % bytes.length] = value;
        try {
          assert.ok(serializeFile(parseFile(bytes)).equals(bytes));
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('any random buffer parses or fails with a FormatError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (raw, withVersion) => {
        const bytes = Buffer.from(raw);
        if (withVersion && bytes.length >= 5) Buffer.from('0100020102', 'hex').copy(bytes);
        try {
          assert.ok(serializeFile(parseFile(bytes)).equals(bytes));
        } catch (err) {
          if (!(err instanceof FormatError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('DNs: formatDn -> parseDn gives the attributes back in both styles, and the styles are the same name', () => {
    const attr = fc.tuple(fc.constantFrom('CN', 'OU', 'O', 'L', 'ST', 'C', 'E', 'DC'), fc.string({ unit: 'grapheme', maxLength: 20 }));
    fc.assert(
      fc.property(fc.array(attr, { minLength: 1, maxLength: 7 }), (attrs) => {
        const comma = formatDn(attrs, 'comma');
        const cucm = formatDn(attrs, 'cucm');
        assert.deepEqual(parseDn(comma), attrs);
        assert.deepEqual([...parseDn(cucm)].sort(), [...attrs].sort());
        assert.ok(sameDn(comma, cucm));
      }),
      { numRuns: 500 },
    );
  });
});
