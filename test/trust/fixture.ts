import { buildEncryptedConfig, buildSignedFile, buildTrustList, parseFile } from '../../src/formats';
import { Role, type RecordSpec, type TrustList } from '../../src/formats/model';
import type { HashAlgorithm } from '../../src/crypto/hash';
import type { Signer } from '../../src/crypto/signer';
import type { PhoneFile, PhoneTrust, TvsModel } from '../../src/trust';
import { makeCerts, makeCert, type TestCert } from '../helpers/pki';

/**
 * One cluster's worth of real keys and certificates for the trust tests: two SAST eTokens and a stranger,
 * ITLRecovery, the TFTP node's CallManager certificate, TVS, CAPF, and regenerated versions (same subject,
 * new key), plus a second cluster. Keys are 2048-bit RSA except where a test says otherwise.
 */
export interface Pki {
  sastA: TestCert;
  sastB: TestCert;
  sastC: TestCert; // a token no CTL lists
  itlRecovery: TestCert;
  itlRecovery2: TestCert;
  ccm: TestCert; // CCM+TFTP: signs configs (and the ITL before 12.0)
  ccm2: TestCert; // the same, regenerated
  tvs: TestCert;
  tvs2: TestCert;
  capf: TestCert;
  capf2: TestCert;
  otherItlRecovery: TestCert; // cluster B
  otherCcm: TestCert;
  otherTvs: TestCert;
  device: TestCert;
}

let cached: Promise<Pki> | undefined;

export function pki(): Promise<Pki> {
  cached ??= (async () => {
    const base = await makeCerts({
      sastA: { cn: 'SAST-eToken-A' },
      sastB: { cn: 'SAST-eToken-B' },
      sastC: { cn: 'SAST-eToken-C' },
      itlRecovery: { cn: 'ITLRECOVERY_cucm-pub' },
      ccm: { cn: 'cucm-pub.example.net' },
      tvs: { cn: 'cucm-pub-tvs' },
      capf: { cn: 'CAPF-1a2b3c4d' },
      otherItlRecovery: { cn: 'ITLRECOVERY_cucm-b', o: 'cluster B' },
      otherCcm: { cn: 'cucm-b.example.net', o: 'cluster B' },
      otherTvs: { cn: 'cucm-b-tvs', o: 'cluster B' },
      device: { cn: 'SEP001122334455' },
    });
    const regen = await makeCerts({
      itlRecovery2: { cn: 'ITLRECOVERY_cucm-pub' },
      ccm2: { cn: 'cucm-pub.example.net' },
      tvs2: { cn: 'cucm-pub-tvs' },
      capf2: { cn: 'CAPF-1a2b3c4d' },
    });
    return { ...base, ...regen };
  })();
  return cached;
}

export { makeCert };

const TS = 1_764_288_000;

export function file(name: string, bytes: Buffer): PhoneFile {
  return { name, bytes, parsed: parseFile(bytes, { file: name }) };
}

export function rec(role: number, cert: TestCert, dnsName?: string, ipv4?: string): RecordSpec {
  return { role, certificate: cert.certDer, ...(dnsName ? { dnsName } : {}), ...(ipv4 ? { ipv4 } : {}) };
}

export async function ctl(signer: TestCert | Signer, records: RecordSpec[], hash: HashAlgorithm = 'sha1'): Promise<PhoneFile> {
  const s = 'signer' in signer ? signer.signer : signer;
  return file('CTLFile.tlv', await buildTrustList({ kind: 'ctl', filename: 'CTLFile.tlv', records, signer: s, hash, timestamp: TS }));
}

export async function itl(signer: TestCert | Signer, records: RecordSpec[], hash: HashAlgorithm = 'sha1'): Promise<PhoneFile> {
  const s = 'signer' in signer ? signer.signer : signer;
  return file('ITLFile.tlv', await buildTrustList({ kind: 'itl', filename: 'ITLFile.tlv', records, signer: s, hash, timestamp: TS }));
}

export const CONFIG_XML = Buffer.from('<device><fullConfig>true</fullConfig><loadInformation>sip88xx.14-2-1</loadInformation></device>\n');

export async function config(signer: TestCert | Signer, name = 'SEP001122334455.cnf.xml.sgn', hash: HashAlgorithm = 'sha1'): Promise<PhoneFile> {
  const s = 'signer' in signer ? signer.signer : signer;
  return file(name, await buildSignedFile({ body: CONFIG_XML, filename: name, signer: s, hash, timestamp: TS }));
}

export async function encryptedConfig(signer: TestCert, device: TestCert): Promise<PhoneFile> {
  const name = 'SEP001122334455.cnf.xml.enc.sgn';
  return file(name, await buildEncryptedConfig({ plaintext: CONFIG_XML, filename: name, signer: signer.signer, deviceCertificate: device.certDer, timestamp: TS }));
}

export function unsigned(name = 'SEP001122334455.cnf.xml'): PhoneFile {
  return { name, bytes: CONFIG_XML };
}

/** Flip one byte inside the records: the structure stays whole, the signature breaks. */
export function tampered(f: PhoneFile): PhoneFile {
  const bytes = Buffer.from(f.bytes);
  const at = (f.parsed as TrustList).header.headerLength + 40;
  bytes[at] = bytes[at]! ^ 0x01;
  return file(f.name, bytes);
}

export function holds(options: { ctl?: PhoneFile; itl?: PhoneFile; sbd?: boolean }): PhoneTrust {
  const held = (f?: PhoneFile) => (f ? { name: f.name, list: f.parsed as TrustList } : undefined);
  return {
    sbd: options.sbd ?? true,
    ...(options.ctl ? { ctl: held(options.ctl) } : {}),
    ...(options.itl ? { itl: held(options.itl) } : {}),
  };
}

export function tvsKnows(certs: TestCert[], service?: TestCert[]): TvsModel {
  return { knows: certs.map((c) => ({ certificate: c.certDer })), ...(service ? { serviceCertificates: service.map((c) => c.certDer) } : {}) };
}

/** The ITL of a 12.x TFTP server: ITLRecovery (SAST), CCM+TFTP, TVS, CAPF. */
export async function standardItl(p: Pki, o: { signer?: TestCert; ccm?: TestCert; tvs?: TestCert; capf?: TestCert } = {}): Promise<PhoneFile> {
  const signer = o.signer ?? p.itlRecovery;
  return itl(signer, [
    rec(Role.SAST, signer),
    rec(Role.CCM_TFTP, o.ccm ?? p.ccm, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.TVS, o.tvs ?? p.tvs, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.CAPF, o.capf ?? p.capf, 'cucm-pub.example.net', '10.0.0.5'),
  ]);
}

/** The ITL of a TFTP server before 12.0: signed by its own CallManager certificate, which it holds twice. */
export async function preTwelveItl(p: Pki, o: { ccm?: TestCert; tvs?: TestCert } = {}): Promise<PhoneFile> {
  const ccm = o.ccm ?? p.ccm;
  return itl(ccm, [
    rec(Role.SAST, ccm),
    rec(Role.CCM_TFTP, ccm, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.TVS, o.tvs ?? p.tvs, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.CAPF, p.capf, 'cucm-pub.example.net', '10.0.0.5'),
  ]);
}

/** A token-based CTL: SAST A and B, ITLRecovery as SAST (11.5+), CCM+TFTP, CAPF, TVS; signed by `signer`. */
export async function standardCtl(p: Pki, signer: TestCert | Signer = p.sastA, extra: RecordSpec[] = []): Promise<PhoneFile> {
  return ctl(signer, [
    rec(Role.SAST, p.sastA),
    rec(Role.SAST, p.sastB),
    rec(Role.SAST, p.itlRecovery),
    rec(Role.CCM_TFTP, p.ccm, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.CAPF, p.capf, 'cucm-pub.example.net', '10.0.0.5'),
    rec(Role.TVS, p.tvs, 'cucm-pub.example.net', '10.0.0.5'),
    ...extra,
  ]);
}
