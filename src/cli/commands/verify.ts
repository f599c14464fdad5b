import type { Command } from 'commander';
import type { CliContext } from '../context';
import { readParsedSpec, parseKindOption } from '../inputs';
import { printJson, out, log } from '../io';
import { warningsFor } from '../../trust/warnings';
import { ExitCode, OpenctlError } from '../../util/errors';
import { verdictFor } from './verify-common';
import { collect, parseFetchTimeout } from '../options';
import { roleName } from '../../formats';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('verify')
    .description('check a file\'s signature: a CTL/ITL against its own signer record, a signed file against --cert or --trust')
    .argument('<file>', 'CTL, ITL, .sgn, .enc.sgn or firmware (.loads, .sbn, .zz.sgn): path or tftp:// / http:// URL')
    .option('--cert <cert>', 'the certificate expected to have signed the file (PEM, DER or PKCS#7)')
    .option('--trust <list>', 'a CTL or ITL whose TFTP-capable records may have signed the file (path or URL; repeatable)', collect, [])
    .option('--kind <kind>', 'ctl or itl: override the detection by header filename')
    .option('--timeout <ms>', 'per-packet timeout for URL inputs', '2000')
    .option('--json', 'print the verdict as JSON (schema: docs/json.md#verify)')
    .action(async (file: string, opts: { cert?: string; trust: string[]; kind?: string; timeout?: string; json?: boolean }) => {
      const url = { timeoutMs: parseFetchTimeout(opts.timeout), signal: ctx.signal };
      const parsed = await readParsedSpec(file, parseKindOption(opts.kind), url);
      const verdict = await verdictFor(parsed, { cert: opts.cert, trust: opts.trust, url });
      if (!verdict) {
        throw new OpenctlError(`${file}: a ${parsed.kind} file is verified against --cert CERT or --trust CTL_OR_ITL`);
      }
      const signer = parsed.header.signer;
      const record = verdict.record;
      // Expiry, too few SAST, SHA-512: worth knowing, never part of the verdict (phones ignore validity dates).
      const warnings = warningsFor({ name: file, bytes: parsed.bytes, parsed }, { now: new Date(), signerCertificate: verdict.certificate, sbd: true }).map((w) => w.message);
      if (opts.json) {
        printJson(ctx.io, {
          file,
          kind: parsed.kind,
          valid: verdict.valid,
          reason: verdict.reason,
          via: verdict.via ?? null,
          signer: { subject: signer.subject, issuer: signer.issuer, serial: signer.serial.toString('hex') },
          record: record
            ? { role: record.role ?? null, roleName: record.role === undefined ? null : roleName(record.role), subject: record.subject ?? null, trustFile: verdict.trustIndex === undefined ? null : opts.trust[verdict.trustIndex] }
            : null,
          warnings,
        });
      } else {
        out(ctx.io, `${verdict.valid ? 'valid' : 'invalid'}: ${file}`);
        out(ctx.io, `  signer: ${signer.subject} (serial ${signer.serial.toString('hex')})`);
        if (record && record.role !== undefined) out(ctx.io, `  record: ${roleName(record.role)} ${record.subject ?? ''}`.trimEnd());
        out(ctx.io, `  ${verdict.reason}`);
        for (const w of warnings) log(ctx.io, `openctl: warning: ${w}`);
      }
      ctx.setExitCode(verdict.valid ? ExitCode.Ok : ExitCode.Rejected);
    });
}
