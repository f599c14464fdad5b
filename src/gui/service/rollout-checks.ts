/**
 * The Preflight and Fetch screens' side of the service: `openctl preflight` and `openctl fetch` through the same
 * library functions (src/fetch/preflight-report.ts, src/fetch/fetch-phone-files.ts), answering with their --json.
 */
import { preflightReport } from '../../fetch/preflight-report';
import { fetchFailed, fetchPhoneFiles } from '../../fetch/fetch-phone-files';
import type { RequestOf } from '../contract';
import type { FetchView, PreflightView } from '../types';
import { isFetchUrl } from '../../fetch';
import { requireRegularFile } from './files';

const DEFAULT_TIMEOUT_MS = 2000;

export async function runPreflight(request: RequestOf<'preflight'>): Promise<PreflightView> {
  // A request names paths on this machine: a FIFO or a device among them would block its reader for good.
  const local = (spec: string) => !isFetchUrl(spec);
  for (const spec of [...request.deploy, ...(request.phoneHas ?? [])].filter(local)) await requireRegularFile(spec, true);
  for (const spec of [...(request.tvsKnows ?? []), ...(request.tvsCert ?? [])].map((t) => t.replace(/^[a-z-]+:(?!\/\/)/i, ''))) await requireRegularFile(spec);
  const report = await preflightReport(request, { timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS });
  return report.json as unknown as PreflightView;
}

export async function runFetch(request: RequestOf<'fetch'>): Promise<FetchView> {
  const report = await fetchPhoneFiles({
    host: request.host,
    macs: request.macs ?? [],
    outDir: request.outDir,
    overwrite: request.overwrite ?? false,
    settings: {
      tftpPort: request.tftpPort ?? 69,
      httpPort: request.httpPort ?? 6970,
      timeoutMs: request.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      transports: request.via ?? ['tftp', 'http'],
    },
  });
  return { ...report, failed: fetchFailed(report) };
}
