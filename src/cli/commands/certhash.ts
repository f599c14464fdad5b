import type { Command } from 'commander';
import type { CliContext } from '../context';
import { readInput } from '../inputs';
import { out, printJson } from '../io';
import { OpenctlError } from '../../util/errors';
import { readCertificates } from '../../crypto/certificate';
import { digest, type AnyHash } from '../../crypto/hash';

const ALGORITHMS: readonly AnyHash[] = ['md5', 'sha1', 'sha256', 'sha512'];

export function register(program: Command, ctx: CliContext): void {
  program
    .command('certhash')
    .description('hash of a certificate\'s DER bytes (MD5 hex is what a config\'s certHash holds)')
    .argument('<cert>', 'certificate (PEM, DER or PKCS#7)')
    .option('--digest <alg>', 'md5, sha1 (default), sha256 or sha512', 'sha1')
    .option('--hex', 'print lowercase hex instead of base64')
    .option('--json', 'print as JSON')
    .action(async (file: string, opts: { digest: string; hex?: boolean; json?: boolean }) => {
      const alg = opts.digest.toLowerCase().replace('-', '') as AnyHash;
      if (!ALGORITHMS.includes(alg)) throw new OpenctlError(`--digest must be md5, sha1, sha256 or sha512, not "${opts.digest}"`);
      const [cert] = readCertificates(await readInput(file, 'certificate'));
      if (!cert) throw new OpenctlError(`${file}: no certificate found (PEM, DER or PKCS#7 expected)`);
      const value = digest(alg, cert);
      const text = opts.hex ? value.toString('hex') : value.toString('base64');
      if (opts.json) printJson(ctx.io, { file, digest: alg, hex: value.toString('hex'), base64: value.toString('base64') });
      else out(ctx.io, text);
    });
}
