import type { Command } from 'commander';
import type { CliContext } from '../context';
import { out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import { diffTrustLists, renderDiff } from '../../trust';
import type { TrustList } from '../../formats/model';
import { readPhoneFile, readTvs } from '../../fetch/inputs';
import { parseTimeout } from './preflight';
import { aList } from '../../util/words';

interface DiffOptions {
  tvsKnows: string[];
  tvsCert: string[];
  sbd: boolean;
  phoneHas: string[];
  timeout?: string;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('diff')
    .description('compare two CTLs or two ITLs (records, signer, version, digest) and say whether phones holding OLD accept NEW')
    .argument('<old>', 'the trust list phones hold now (path or tftp:// / http:// URL)')
    .argument('<new>', 'the trust list to roll out (path or URL)')
    .option('--tvs-knows <cert>', "a certificate the cluster's TVS vouches for, optionally ROLE:CERT (repeatable)", collect, [])
    .option('--tvs-cert <cert>', "the TVS service's own certificate (repeatable)", collect, [])
    .option('--phone-has <file>', 'the other trust list the phones hold (an ITL when diffing CTLs, a CTL when diffing ITLs)', collect, [])
    .option('--no-sbd', 'phones without Security by Default (7940/7960): no TVS')
    .option('--timeout <ms>', 'per-packet timeout for URL inputs', '2000')
    .option('--json', 'print the diff as JSON')
    .action(async (oldSpec: string, newSpec: string, opts: DiffOptions) => {
      const settings = { cwd: ctx.io.cwd, timeoutMs: parseTimeout(opts.timeout), signal: ctx.signal };
      const before = await readPhoneFile(oldSpec, settings);
      const after = await readPhoneFile(newSpec, settings);
      const oldList = trustListOf(before.parsed, oldSpec);
      const newList = trustListOf(after.parsed, newSpec);
      if (oldList.kind !== newList.kind) {
        throw new OpenctlError(`${newSpec}: is ${aList(newList.kind)} but ${oldSpec} is ${aList(oldList.kind)}: diff compares lists of one kind`);
      }
      const phone: { sbd: boolean; ctl?: { name: string; list: TrustList }; itl?: { name: string; list: TrustList } } = { sbd: opts.sbd };
      for (const spec of opts.phoneHas) {
        const f = await readPhoneFile(spec, settings);
        const list = trustListOf(f.parsed, spec);
        if (list.kind === oldList.kind) throw new OpenctlError(`${spec}: --phone-has names the other list the phones hold, not a second ${list.kind.toUpperCase()}`);
        phone[list.kind] = { name: f.name, list };
      }
      const tvs = await readTvs(opts.tvsKnows, opts.tvsCert, settings);
      const diff = diffTrustLists({ name: before.name, list: oldList }, { name: after.name, list: newList }, phone, tvs);
      if (opts.json) printJson(ctx.io, { old: oldSpec, new: newSpec, ...diff });
      else out(ctx.io, renderDiff(diff, oldSpec, newSpec));
      ctx.setExitCode(diff.acceptance.verdict === 'rejected' ? ExitCode.Rejected : ExitCode.Ok);
    });
}

function trustListOf(parsed: import('../../formats/model').ParsedFile | undefined, spec: string): TrustList {
  if (!parsed || (parsed.kind !== 'ctl' && parsed.kind !== 'itl')) {
    throw new OpenctlError(`${spec}: not a CTL or ITL (${parsed ? `a ${parsed.kind} file` : 'not a Cisco TLV file'})`);
  }
  return parsed;
}
