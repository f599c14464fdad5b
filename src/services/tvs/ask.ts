import type { PhoneFile, PhoneTrust, TvsCertificate, TvsModel } from '../../trust';
import { sha256Hex } from '../../store/tvs';
import { queryTvs, type TvsAnchors, type TvsTarget } from './client';

/**
 * `preflight --tvs HOST`: what a live TVS vouches for, as the trust model's TvsModel. The model needs the
 * certificates TVS knows; a TVS only answers about a certificate it is shown, so it is asked about every
 * certificate a phone could meet in the rollout: the records of the lists deployed and held, plus any extra
 * certificates given. The server's own certificate (the one it presented) becomes the model's service
 * certificate, so the model also checks that phones' ITLs can authenticate this TVS.
 */

export interface LiveTvs {
  model: TvsModel;
  server: string;
  asked: number;
  trusted: number;
}

/** Every certificate of the trust lists among `files` and the lists the phones hold, once each. */
export function candidateCertificates(files: readonly PhoneFile[], phones: readonly PhoneTrust[], extra: readonly Buffer[] = []): Buffer[] {
  const seen = new Map<string, Buffer>();
  const add = (der: Buffer | undefined) => {
    if (der && der.length > 0) seen.set(sha256Hex(der), der);
  };
  for (const f of files) if (f.parsed && (f.parsed.kind === 'ctl' || f.parsed.kind === 'itl')) f.parsed.records.forEach((r) => add(r.certificate));
  for (const p of phones) for (const held of [p.ctl, p.itl]) held?.list.records.forEach((r) => add(r.certificate));
  extra.forEach(add);
  return [...seen.values()];
}

export async function askLiveTvs(
  target: TvsTarget,
  anchors: TvsAnchors,
  candidates: readonly Buffer[],
  options: { deviceName: string; timeoutMs: number; concurrency?: number },
): Promise<LiveTvs> {
  const knows: TvsCertificate[] = [];
  let serverCertificate: Buffer | undefined;
  let next = 0;
  // A few queries at a time: TVS answers one request per connection, and a preflight is not a load test.
  const worker = async () => {
    while (next < candidates.length) {
      const certificate = candidates[next++]!;
      const answer = await queryTvs(target, anchors, { certificate, deviceName: options.deviceName }, { timeoutMs: options.timeoutMs });
      serverCertificate ??= answer.serverCertificate;
      if (answer.response.trusted) knows.push({ certificate, roles: answer.response.roles });
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, Math.max(1, candidates.length)) }, worker));
  if (!serverCertificate) {
    // Nothing to ask about: still connect once, so that an unreachable TVS is reported, not silently assumed.
    const probe = await queryTvs(target, anchors, { certificate: anchors.certificates[0]!, deviceName: options.deviceName }, { timeoutMs: options.timeoutMs });
    serverCertificate = probe.serverCertificate;
  }
  const server = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  return { model: { knows, serviceCertificates: [serverCertificate] }, server, asked: candidates.length, trusted: knows.length };
}
