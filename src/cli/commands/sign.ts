import * as path from 'node:path';
import type { Command } from 'commander';
import type { CliContext } from '../context';
import { parseDigest, parseDnStyle, parseTimestamp } from '../options';
import { addFileSigningOptions, resolveSigner, type FileSigningOptions } from '../signer-options';
import { readInput, readParsed } from '../inputs';
import { out, printJson } from '../io';
import { OpenctlError } from '../../util/errors';
import { writeFileAtomic } from '../../util/atomic-write';
import { checkOutputs } from '../../util/output-check';
import { signConfigFile } from '../../builder/config-files';

export function register(program: Command, ctx: CliContext): void {
  const sign = program
    .command('sign')
    .description('sign TFTP files (configs, ring lists, soft keys...): FILE -> FILE.sgn')
    .argument('<files...>', 'files to sign');
  addFileSigningOptions(sign, 'write the .sgn files here instead of beside their sources')
    .action(async (files: string[], opts: FileSigningOptions) => {
      const hash = parseDigest(opts.digest);
      const timestamp = parseTimestamp(opts.timestamp);
      const dnStyle = parseDnStyle(opts.dnStyle);
      const outputOf = (source: string) => path.join(opts.outDir ?? path.dirname(source), `${path.basename(source)}.sgn`);
      // Every output is checked before the signer is opened: no run stops with some files signed and others refused.
      await checkOutputs(files.map(outputOf), { overwrite: Boolean(opts.force) });
      const signer = await resolveSigner(opts, ctx, program.opts<{ debug?: boolean }>().debug ?? false);
      const results: Array<{ source: string; output: string; sha1: string }> = [];
      try {
        for (const source of files) {
          const body = await readInput(source);
          const { output, sha1 } = await signConfigFile(body, source, opts.outDir ?? path.dirname(source), { signer, hash, timestamp, dnStyle, overwrite: opts.force });
          results.push({ source, output, sha1 });
          if (!opts.json) out(ctx.io, `wrote ${output}`);
        }
      } finally {
        await signer.close?.();
      }
      if (opts.json) printJson(ctx.io, { signer: signer.description, digest: hash, files: results });
    });

  program
    .command('unsign')
    .description('extract the original file from a signed file: FILE.sgn -> FILE')
    .argument('<file>', 'a .sgn file')
    .option('--out <file>', 'where to write (default: the name without .sgn, beside it)')
    .option('--force', 'overwrite an existing output')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, opts: { out?: string; force?: boolean; json?: boolean }) => {
      const parsed = await readParsed(file);
      if (parsed.kind !== 'signed') {
        throw new OpenctlError(`${file}: is a ${parsed.kind} file; unsign takes a signed file (.sgn)${parsed.kind === 'encrypted' ? ': use openctl decrypt' : ''}`);
      }
      const output = opts.out ?? defaultUnsignedName(file, '.sgn');
      await checkOutputs([output], { overwrite: Boolean(opts.force) });
      await writeFileAtomic(output, parsed.body, { overwrite: Boolean(opts.force) });
      if (opts.json) printJson(ctx.io, { file, output, length: parsed.body.length, signer: parsed.header.signer.subject });
      else out(ctx.io, `wrote ${output} (${parsed.body.length} bytes; signed by ${parsed.header.signer.subject}, not verified: use openctl verify)`);
    });
}

export function defaultUnsignedName(file: string, suffix: string): string {
  if (!file.endsWith(suffix)) throw new OpenctlError(`${file}: the name does not end in ${suffix}: give --out`);
  return file.slice(0, -suffix.length);
}
