import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { log, out, printJson } from '../io';
import { collect } from '../options';
import { ExitCode, OpenctlError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { digest } from '../../crypto/hash';
import { fetchFile, phoneFileNames, type Transport } from '../../fetch';
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
      const names = phoneFileNames(opts.mac);
      const outDir = path.resolve(ctx.io.cwd, opts.out ?? '.');
      const settings = {
        tftpPort: parsePort(opts.port, '--port'),
        httpPort: parsePort(opts.httpPort, '--http-port'),
        timeoutMs: parseTimeout(opts.timeout),
        transports,
        signal: ctx.signal,
      };
      if (!opts.force) {
        for (const name of names) {
          if (await exists(path.join(outDir, name))) throw new OpenctlError(`${path.join(outDir, name)}: already exists (use --force to replace it)`);
        }
      }
      await fs.mkdir(outDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
        throw new OpenctlError(`${outDir}: cannot create the folder: ${err.code ?? err.message}`);
      });

      const results: Array<{ name: string; via?: Transport; bytes?: number; sha1?: string; file?: string; notFound: boolean; attempts: Array<{ via: Transport; error: string }> }> = [];
      for (const name of names) {
        if (ctx.signal.aborted) break;
        const outcome = await fetchFile(host, name, settings);
        const entry: (typeof results)[number] = { name, notFound: outcome.notFound, attempts: outcome.attempts.map(({ via, error }) => ({ via, error })) };
        if (outcome.bytes) {
          const file = path.join(outDir, name);
          await writeFileAtomic(file, outcome.bytes, { overwrite: Boolean(opts.force) });
          Object.assign(entry, { via: outcome.via, bytes: outcome.bytes.length, sha1: digest('sha1', outcome.bytes).toString('hex'), file });
          if (!opts.json) {
            const fellBack = outcome.attempts.length ? ` (after ${outcome.attempts.map((a) => `${a.via.toUpperCase()}: ${a.error}`).join('; ')})` : '';
            out(ctx.io, `${name}: ${outcome.bytes.length} bytes via ${outcome.via!.toUpperCase()} -> ${file}${fellBack}`);
          }
        } else if (!opts.json) {
          const why = outcome.attempts.map((a) => `${a.via.toUpperCase()}: ${a.error}`).join('; ');
          out(ctx.io, `${name}: ${outcome.notFound ? 'not on the server' : 'FAILED'} (${why})`);
        }
        results.push(entry);
      }
      if (ctx.signal.aborted) throw new OpenctlError('fetch interrupted', ExitCode.Interrupted);

      const failed = results.filter((r) => r.sha1 === undefined && !r.notFound);
      const got = results.filter((r) => r.sha1 !== undefined);
      if (opts.json) printJson(ctx.io, { host, out: outDir, files: results });
      else if (got.length === 0) log(ctx.io, `openctl: ${host}: nothing could be downloaded`);
      // A file the server does not have is not a failure (non-secure clusters serve no CTLFile.tlv);
      // a transfer that broke, or getting nothing at all, is.
      ctx.setExitCode(failed.length > 0 || got.length === 0 ? ExitCode.Rejected : ExitCode.Ok);
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

async function exists(file: string): Promise<boolean> {
  return fs.lstat(file).then(
    () => true,
    () => false,
  );
}
