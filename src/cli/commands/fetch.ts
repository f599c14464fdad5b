import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { log, out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import { type Transport } from '../../fetch';
import { fetchFailed, fetchPhoneFiles } from '../../fetch/fetch-phone-files';
import { parseTimeout } from './preflight';

interface FetchOptions {
  mac: string[];
  out?: string;
  port?: string;
  httpPort?: string;
  timeout?: string;
  via?: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('fetch')
    .description("download what a phone downloads from a TFTP server: CTLFile.tlv, ITLFile.tlv and SEP<MAC>.cnf.xml.sgn (TFTP, then HTTP port 6970)")
    .argument('<host>', 'the TFTP server (name or IPv4 address)')
    .option('--mac <mac>', "also fetch this phone's config SEP<MAC>.cnf.xml.sgn (repeatable)", collect, [])
    .option('--out <dir>', 'write the files here (created when missing; default: the current folder)')
    .option('--port <n>', 'TFTP port', '69')
    .option('--http-port <n>', 'HTTP port of the TFTP service', '6970')
    .option('--via <list>', 'transports to try in order: tftp,http (default), tftp, http, or http,tftp', 'tftp,http')
    .option('--timeout <ms>', 'per-packet TFTP timeout and HTTP request timeout', '2000')
    .option('--force', 'overwrite files already in --out')
    .option('--json', 'print the outcome as JSON')
    .action(async (host: string, opts: FetchOptions) => {
      const transports = parseVia(opts.via);
      const settings = {
        tftpPort: parsePort(opts.port, '--port'),
        httpPort: parsePort(opts.httpPort, '--http-port'),
        timeoutMs: parseTimeout(opts.timeout),
        transports,
        signal: ctx.signal,
      };
      const report = await fetchPhoneFiles({
        host,
        macs: opts.mac,
        outDir: path.resolve(ctx.io.cwd, opts.out ?? '.'),
        overwrite: opts.force,
        settings,
        onFile: (entry) => {
          if (opts.json) return;
          if (entry.file) {
            const fellBack = entry.attempts.length ? ` (after ${entry.attempts.map((a) => `${a.via.toUpperCase()}: ${a.error}`).join('; ')})` : '';
            out(ctx.io, `${entry.name}: ${entry.bytes} bytes via ${entry.via!.toUpperCase()} -> ${entry.file}${fellBack}`);
          } else {
            const why = entry.attempts.map((a) => `${a.via.toUpperCase()}: ${a.error}`).join('; ');
            out(ctx.io, `${entry.name}: ${entry.notFound ? 'not on the server' : 'FAILED'} (${why})`);
          }
        },
      });
      if (ctx.signal.aborted) throw new OpenctlError('fetch interrupted', ExitCode.Interrupted);

      if (opts.json) printJson(ctx.io, report);
      else if (!report.files.some((r) => r.sha1 !== undefined)) log(ctx.io, `openctl: ${host}: nothing could be downloaded`);
      ctx.setExitCode(fetchFailed(report) ? ExitCode.Rejected : ExitCode.Ok);
    });
}

function parseVia(value: string | undefined): Transport[] {
  const list = (value ?? 'tftp,http').split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
  if (list.length === 0 || list.some((t) => t !== 'tftp' && t !== 'http') || new Set(list).size !== list.length) {
    throw new OpenctlError(`--via must list tftp and/or http, e.g. "tftp,http", not "${value}"`);
  }
  return list as Transport[];
}

function parsePort(value: string | undefined, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new OpenctlError(`${option} must be a port number (1 to 65535), not "${value}"`);
  return n;
}

